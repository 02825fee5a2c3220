//! The file commands of CONTRACTS.md section 8: `ls`, `cat`, `write`, `rm`, `mkdir`,
//! `sync`, `disk`. Errors print `CMD: PATH: REASON` and fail.
use alloc::string::String;
use lazuli_api::{
    fs::{self, EntryKind, File, FileError, OpenOptions},
    print_bytes, println,
};

/// Prints the error line and gives the failing status.
fn fail(cmd: &str, path: &str, e: FileError) -> i32 {
    println!("{cmd}: {path}: {e}");
    1
}

fn usage(line: &str) -> i32 {
    println!("usage: {line}");
    2
}

/// The one path argument of `cmd`, or a usage line.
fn one_path<'a>(args: &'a str, usage_line: &str) -> Result<&'a str, i32> {
    match args.split_whitespace().collect::<alloc::vec::Vec<_>>()[..] {
        [path] => Ok(path),
        _ => Err(usage(usage_line)),
    }
}

pub async fn ls(args: String) -> i32 {
    let dir = match args.split_whitespace().collect::<alloc::vec::Vec<_>>()[..] {
        [] => "/",
        [dir] => dir,
        _ => return usage("ls [DIR]"),
    };
    match fs::list(dir) {
        Ok(entries) => {
            for entry in entries {
                match entry.kind {
                    EntryKind::File { size } => println!("{} {size}", entry.name),
                    EntryKind::Directory => println!("{}/", entry.name),
                }
            }
            0
        }
        Err(e) => fail("ls", dir, e),
    }
}

pub async fn cat(args: String) -> i32 {
    let path = match one_path(&args, "cat PATH") {
        Ok(path) => path,
        Err(status) => return status,
    };
    let mut file = match File::open(path, OpenOptions::READ) {
        Ok(file) => file,
        Err(e) => return fail("cat", path, e),
    };
    let mut chunk = alloc::vec![0u8; 16 * 1024];
    loop {
        match file.read(&mut chunk).await {
            Ok(0) => return 0,
            Ok(n) => print_bytes(&chunk[..n]),
            Err(e) => return fail("cat", path, e),
        }
        // Long files: let Ctrl-C and the rest of the machine in between chunks.
        lazuli_api::yield_now().await;
    }
}

pub async fn write(args: String) -> i32 {
    let (path, text) = match args.split_once(char::is_whitespace) {
        Some((path, text)) => (path, text.trim_start()),
        None if !args.is_empty() => (args.as_str(), ""),
        None => return usage("write PATH TEXT"),
    };
    let mut bytes = String::from(text);
    bytes.push('\n');
    let written = match File::open(path, OpenOptions::REPLACE) {
        Ok(mut file) => match file.write(bytes.as_bytes()).await {
            Ok(_) => file.close(),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => 0,
        Err(e) => fail("write", path, e),
    }
}

pub async fn rm(args: String) -> i32 {
    match one_path(&args, "rm PATH") {
        Ok(path) => fs::remove(path).map_or_else(|e| fail("rm", path, e), |()| 0),
        Err(status) => status,
    }
}

pub async fn mkdir(args: String) -> i32 {
    match one_path(&args, "mkdir PATH") {
        Ok(path) => fs::mkdir(path).map_or_else(|e| fail("mkdir", path, e), |()| 0),
        Err(status) => status,
    }
}

pub async fn sync(_: String) -> i32 {
    match fs::sync() {
        Ok(()) => 0,
        Err(e) => {
            println!("sync: {e}");
            1
        }
    }
}

pub async fn disk(_: String) -> i32 {
    match fs::disk() {
        Ok(d) => {
            println!(
                "disk: {}, {} KiB, {}, {} KiB free",
                d.device,
                d.bytes / 1024,
                d.file_system,
                d.free_bytes / 1024
            );
            0
        }
        Err(e) => {
            println!("disk: {e}");
            1
        }
    }
}

/// `cache`: frames the page cache holds; `cache drop` gives the clean ones back.
pub async fn cache(args: String) -> i32 {
    match args.as_str() {
        "" => {}
        "drop" => {
            fs::drop_cache();
        }
        _ => return usage("cache [drop]"),
    }
    println!("cache: {} pages", fs::cache_pages());
    0
}
