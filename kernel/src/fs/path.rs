//! Paths as the file API takes them: components from the root, `/` between them.
//!
//! A leading `/`, doubled `/` and `.` components are accepted and dropped (a
//! trailing `/` says the path must be a directory); `..`, an
//! over-long component (FAT allows 255 characters) or path, and control characters
//! are `InvalidName`. Whether FAT accepts the characters of a name is lamfat's call.
use alloc::{string::String, vec::Vec};
use lazuli_api::fs::FileError;

/// Longest path accepted.
pub const MAX_PATH: usize = 1024;
const MAX_NAME: usize = 255;

/// A checked path. Its canonical form (components joined by `/`, case kept) is
/// what lamfat is given; [`Path::key`] folds case for the page cache's file ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    joined: String,
    parts: Vec<String>,
    /// Written with a trailing `/`: it must name a directory.
    directory: bool,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, FileError> {
        if text.len() > MAX_PATH || text.chars().any(char::is_control) {
            return Err(FileError::InvalidName);
        }
        let mut parts = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(FileError::InvalidName),
                name if name.len() > MAX_NAME => return Err(FileError::InvalidName),
                name => parts.push(String::from(name)),
            }
        }
        Ok(Path {
            joined: parts.join("/"),
            directory: text.trim_end_matches('.').ends_with('/') && !parts.is_empty(),
            parts,
        })
    }

    /// Whether it was written as a directory (`DOCS/`): naming a file so is
    /// `NotADirectory`.
    pub fn must_be_directory(&self) -> bool {
        self.directory
    }

    /// The canonical path (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.joined
    }

    /// Upper-cased canonical path: equal for every spelling of one file.
    pub fn key(&self) -> String {
        self.joined.to_uppercase()
    }

    pub fn components(&self) -> Vec<&str> {
        self.parts.iter().map(String::as_str).collect()
    }

    /// The last component and the ones before it; None for the root.
    pub fn split_last(&self) -> Option<(&str, Vec<&str>)> {
        let (last, parents) = self.parts.split_last()?;
        Some((last, parents.iter().map(String::as_str).collect()))
    }
}
