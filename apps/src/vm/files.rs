//! The playground's file commands (CONTRACTS.md section 9): `mapf` maps a file,
//! `msync` writes a mapping's stores back, `fr`/`fw` read and write one byte
//! through the file API (the same page cache the mappings show), `cache` counts
//! the cache's frames.
use core::fmt;
use lazuli_api::fs::{self, File, FileError, MapError, OpenOptions, Sharing};
use lazuli_api::{Placement, Prot, println};

/// Why a file command was refused, printed after `error `.
enum Refusal {
    Map(MapError),
    BadProt,
    /// `fr` at or past the end of the file.
    EndOfFile,
}

impl From<MapError> for Refusal {
    fn from(e: MapError) -> Self {
        Refusal::Map(e)
    }
}

impl From<FileError> for Refusal {
    fn from(e: FileError) -> Self {
        Refusal::Map(MapError::File(e))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Map(e) => write!(f, "{e}"),
            Refusal::BadProt => f.write_str("bad_prot"),
            Refusal::EndOfFile => f.write_str("end_of_file"),
        }
    }
}

fn sharing_word(sharing: Sharing) -> &'static str {
    match sharing {
        Sharing::Shared => "shared",
        Sharing::Private => "private",
    }
}

/// `mapf PATH OFF LEN PROT shared|private`: the mapping's start (the new `$`).
pub fn mapf(path: &str, offset: u64, len: usize, prot: &str, sharing: Sharing) -> Option<usize> {
    let result = map_file(path, offset, len, prot, sharing);
    let head = alloc::format!(
        "mapf({path}, {offset}, {len}, {prot}, {})",
        sharing_word(sharing)
    );
    match result {
        Ok(addr) => {
            println!("{head} = {addr:#x}");
            Some(addr)
        }
        Err(e) => {
            println!("{head} = error {e}");
            None
        }
    }
}

fn map_file(
    path: &str,
    offset: u64,
    len: usize,
    prot: &str,
    sharing: Sharing,
) -> Result<usize, Refusal> {
    let prot = Prot::parse(prot).ok_or(Refusal::BadProt)?;
    // A shared writable mapping's stores go to the file: it is opened for writing.
    let write = sharing == Sharing::Shared && prot.writable();
    let options = OpenOptions {
        read: true,
        write,
        ..OpenOptions::default()
    };
    let file = File::open(path, options)?;
    // The mapping outlives the handle, which is closed here.
    Ok(file.map(offset, len, prot, sharing, Placement::Anywhere)?)
}

/// `msync ADDR LEN`
pub fn msync(addr: usize, len: usize) {
    match fs::msync(addr, len) {
        Ok(()) => println!("msync({addr:#x}, {len}) = 0"),
        Err(e) => println!("msync({addr:#x}, {len}) = error {e}"),
    }
}

/// `fr PATH OFF`: the byte at OFF, read through the file API.
pub async fn fr(path: &str, offset: u64) {
    let result: Result<u8, Refusal> = async {
        let mut file = File::open(path, OpenOptions::READ)?;
        file.seek(offset)?;
        let mut byte = [0u8];
        match file.read(&mut byte).await? {
            0 => Err(Refusal::EndOfFile),
            _ => Ok(byte[0]),
        }
    }
    .await;
    match result {
        Ok(v) => println!("fr({path}, {offset}) = {v}"),
        Err(e) => println!("fr({path}, {offset}) = error {e}"),
    }
}

/// `fw PATH OFF V`: stores V at OFF through the file API (the file must exist;
/// it grows if OFF is past its end), and closes it (which writes it back).
pub async fn fw(path: &str, offset: u64, value: u8) {
    let result: Result<(), Refusal> = async {
        let options = OpenOptions {
            write: true,
            ..OpenOptions::default()
        };
        let mut file = File::open(path, options)?;
        file.seek(offset)?;
        file.write(&[value]).await?;
        Ok(file.close()?)
    }
    .await;
    match result {
        Ok(()) => println!("fw({path}, {offset}) = {value}"),
        Err(e) => println!("fw({path}, {offset}) = error {e}"),
    }
}

/// `cache`
pub fn cache() {
    println!("cache: {} pages", fs::cache_pages());
}
