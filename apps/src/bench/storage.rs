//! Storage figures: one synchronous disk read of a sector and of a page (how the
//! file system waits for the device: halting until the interrupt), the page read
//! polled with interrupts off (how a page fault would have to wait), and 1 MiB written and read through the file
//! API (`file_write_1mib` includes the write-back at close; `file_read_1mib_cold`
//! reads from the disk after the cache is dropped, `file_read_1mib_cached` from the
//! page cache). Under `--no-disk` the device is the RAM disk.
use super::{Plan, Samples, report, sample};
use alloc::vec;
use lazuli_api::{
    diag,
    fs::{self, File, OpenOptions},
    println,
};

const MIB: usize = 1 << 20;
const SCRATCH: &str = "BENCH.TMP";

pub async fn run(plan: Plan) -> bool {
    let reads = [
        ("disk_read_512", 512, false),
        ("data_disk_read_4k", 4096, false),
        ("disk_read_4k_polled", 4096, true),
    ];
    for (name, bytes, polled) in reads {
        let mut ticks = vec![];
        for _ in 0..plan.n(200, 8) {
            match diag::disk_read_ticks(bytes, polled) {
                Some(t) => ticks.push(t),
                None => {
                    println!("bench {name}: no disk");
                    return false;
                }
            }
        }
        report(name, &Samples::from(ticks));
    }
    let data: vec::Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let runs = plan.n(5, 1);
    let write = sample(runs, async |_| {
        let mut f = File::open(SCRATCH, OpenOptions::REPLACE).expect("bench scratch file");
        let written = f.write(&data).await;
        assert!(written == Ok(MIB), "bench: writing {SCRATCH}: {written:?}");
        assert!(f.close().is_ok(), "bench: closing {SCRATCH}");
    })
    .await;
    let read = |drop_first: bool| async move {
        let mut buf = vec![0u8; 64 * 1024];
        sample(runs, async |_| {
            if drop_first {
                fs::drop_cache();
            }
            let mut f = File::open(SCRATCH, OpenOptions::READ).expect("bench scratch file");
            let mut total = 0;
            while let Ok(n @ 1..) = f.read(&mut buf).await {
                total += n;
            }
            assert_eq!(total, MIB, "bench: read back {total} bytes");
        })
        .await
    };
    let cold = read(true).await;
    let cached = read(false).await;
    let _ = fs::remove(SCRATCH);
    report("file_write_1mib", &write);
    report("file_read_1mib_cold", &cold);
    report("file_read_1mib_cached", &cached);
    true
}
