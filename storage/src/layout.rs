//! Where a file's bytes lie on the volume: its extents (runs of bytes, one per
//! cluster as FAT keeps them), and the device reads that fetch a byte range of the
//! file — consecutive clusters merged into one read, each read at most a size the
//! device takes at once, whole sectors. The page cache fills pages with these reads
//! without going through the FAT crate (so the reading task can yield while the
//! disk works).
use crate::SECTOR_SIZE;
use alloc::vec::Vec;

/// A run of the file's bytes on the volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Byte offset within the volume.
    pub volume_offset: u64,
    pub len: u64,
}

/// One device read: `len` bytes (whole sectors) at volume byte `volume_offset`,
/// into the buffer at `into`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    pub into: usize,
    pub volume_offset: u64,
    pub len: usize,
}

/// The reads that fetch file bytes `[start, end)` into a buffer holding them from
/// `start` on. Extents are the file's, in file order; bytes past the last extent
/// are not read (the caller zeroes them). Each read is at most `max` bytes, and
/// lengths are rounded up to whole sectors (the buffer must have room: callers
/// read whole pages).
pub fn reads(extents: &[Extent], start: u64, end: u64, max: usize) -> Vec<Read> {
    let mut out: Vec<Read> = Vec::new();
    let mut file_at = 0u64;
    for e in extents {
        if file_at >= end {
            break;
        }
        let (lo, hi) = (file_at.max(start), (file_at + e.len).min(end));
        file_at += e.len;
        if lo >= hi {
            continue;
        }
        let mut into = (lo - start) as usize;
        let mut volume_offset = e.volume_offset + (lo - (file_at - e.len));
        let mut left = (hi - lo) as usize;
        while left > 0 {
            let merged = out.last_mut().filter(|r| {
                r.into + r.len == into
                    && r.volume_offset + r.len as u64 == volume_offset
                    && r.len < max
            });
            let n = match merged {
                Some(r) => {
                    let n = left.min(max - r.len);
                    r.len += n;
                    n
                }
                None => {
                    let n = left.min(max);
                    out.push(Read {
                        into,
                        volume_offset,
                        len: n,
                    });
                    n
                }
            };
            into += n;
            volume_offset += n as u64;
            left -= n;
        }
    }
    for r in &mut out {
        r.len = r.len.div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ext(volume_offset: u64, len: u64) -> Extent {
        Extent { volume_offset, len }
    }

    #[test]
    fn consecutive_clusters_become_one_read() {
        let file = [ext(8192, 2048), ext(10240, 2048), ext(4096, 2048)];
        assert_eq!(
            reads(&file, 0, 6144, 65536),
            [
                Read {
                    into: 0,
                    volume_offset: 8192,
                    len: 4096
                },
                Read {
                    into: 4096,
                    volume_offset: 4096,
                    len: 2048
                },
            ]
        );
    }

    #[test]
    fn a_range_inside_the_file_starts_mid_cluster_and_stops_at_its_end() {
        let file = [ext(0, 4096), ext(40960, 1000)];
        // The second page: the file's last 1000 bytes, rounded up to two sectors.
        assert_eq!(
            reads(&file, 4096, 8192, 65536),
            [Read {
                into: 0,
                volume_offset: 40960,
                len: 1024
            }]
        );
        assert_eq!(reads(&file, 8192, 12288, 65536), []);
    }

    #[test]
    fn reads_are_split_at_the_device_maximum() {
        let file = [ext(0, 10240)];
        let got = reads(&file, 0, 10240, 4096);
        assert_eq!(
            got.iter().map(|r| r.len).collect::<Vec<_>>(),
            [4096, 4096, 2048]
        );
        assert_eq!(
            got[2],
            Read {
                into: 8192,
                volume_offset: 8192,
                len: 2048
            }
        );
    }

    proptest! {
        /// Reading through the plan into a buffer gives exactly the file's bytes,
        /// whatever the clusters' order on the volume.
        #[test]
        fn the_plan_reads_exactly_the_file(
            order in proptest::collection::vec(0u64..64, 1..24),
            tail in 1u64..=2048,
            first_page in 0u64..4,
            pages in 1u64..6,
            max_sectors in 1usize..20,
        ) {
            let cluster = 2048u64;
            let mut seen = std::collections::BTreeSet::new();
            let clusters: Vec<u64> = order.into_iter().filter(|c| seen.insert(*c)).collect();
            let n = clusters.len() as u64;
            let size = (n - 1) * cluster + tail;
            let extents: Vec<Extent> = clusters.iter().enumerate().map(|(i, &c)| {
                ext(c * cluster, if i as u64 == n - 1 { tail } else { cluster })
            }).collect();
            // The volume: byte v holds (v % 251) as the disk would.
            let byte_at = |v: u64| (v % 251) as u8;
            let file_byte = |f: u64| byte_at(clusters[(f / cluster) as usize] * cluster + f % cluster);
            let (start, end) = (first_page * 4096, ((first_page + pages) * 4096).min(size.max(first_page * 4096)));
            let max = max_sectors * SECTOR_SIZE;
            let mut buf = std::vec![0u8; (pages * 4096) as usize];
            for r in reads(&extents, start, end, max) {
                prop_assert!(r.len <= max.div_ceil(SECTOR_SIZE) * SECTOR_SIZE);
                prop_assert_eq!(r.len % SECTOR_SIZE, 0);
                prop_assert!(r.into + r.len <= buf.len());
                for k in 0..r.len {
                    buf[r.into + k] = byte_at(r.volume_offset + k as u64);
                }
            }
            for f in start..end {
                prop_assert_eq!(buf[(f - start) as usize], file_byte(f), "file byte {}", f);
            }
        }
    }
}
