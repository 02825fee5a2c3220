//! `show`: a picture of the task's address space. One line per region with one
//! cell per page — or per group of pages, so no row is longer than [`MAX_CELLS`]:
//!
//! ```text
//! show: 3 regions, numvp=11 numpp=1 (# present, + partly present, . reserved, x guard)
//!   0x000040000000-0x000040002000 mmap   rw      2 pages [#.]
//!   0x7ffeffff7000-0x7ffeffff8000 guard  none    1 page  [x]
//!   0x7ffeffff8000-0x7fff00000000 stack  rw      8 pages [........]
//! ```
//! A task with pages in the swap area gets one more cell kind, and the legend
//! names it only then (so the picture of a task that never swapped is unchanged):
//! `s` — none of the cell's pages present, some of them swapped out.
//! On the framebuffer the cells are coloured squares.
use alloc::{format, string::String};
use lazuli_api::{
    RegionKind, RegionView, numpp, numvp, present_pages, print, print_cells, println, regions,
    swapped_pages,
};

const PAGE: usize = lazuli_api::PAGE_SIZE;
/// The most cells drawn for one region.
pub const MAX_CELLS: usize = 64;

pub fn show() {
    let regions = regions();
    let present = present_pages();
    let swapped = swapped_pages();
    let legend = if swapped.is_empty() {
        ""
    } else {
        ", s swapped"
    };
    println!(
        "show: {} regions, numvp={} numpp={} (# present, + partly present, . reserved, x guard{legend})",
        regions.len(),
        numvp(),
        numpp()
    );
    for region in &regions {
        let pages = (region.end - region.start) / PAGE;
        let unit = if pages == 1 { "page " } else { "pages" };
        print!(
            "  {:#014x}-{:#014x} {:<6} {:<5} {:>7} {unit} ",
            region.start, region.end, region.kind, region.prot, pages
        );
        let (cells, per_cell) = row(region, &present, &swapped);
        print_cells(&format!("[{cells}]"));
        if per_cell > 1 {
            print!(" (1 cell = {per_cell} pages)");
        }
        println!();
    }
}

/// The cells of one region and how many pages each stands for (`present` and
/// `swapped`: page addresses, sorted).
pub fn row(region: &RegionView, present: &[usize], swapped: &[usize]) -> (String, usize) {
    let pages = (region.end - region.start) / PAGE;
    let per_cell = pages.div_ceil(MAX_CELLS).max(1);
    let mut cells = String::new();
    let mut lo = region.start;
    while lo < region.end {
        let hi = (lo + per_cell * PAGE).min(region.end);
        let within = |pages: &[usize]| {
            pages.partition_point(|&p| p < hi) - pages.partition_point(|&p| p < lo)
        };
        let here = within(present);
        cells.push(match () {
            _ if region.kind == RegionKind::Guard => 'x',
            _ if here == 0 && within(swapped) > 0 => 's',
            _ if here == 0 => '.',
            _ if here == (hi - lo) / PAGE => '#',
            _ => '+',
        });
        lo = hi;
    }
    (cells, per_cell)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn region(start: usize, pages: usize, kind: RegionKind) -> RegionView {
        RegionView {
            start,
            end: start + pages * PAGE,
            kind,
            prot: lazuli_api::Prot::RW,
        }
    }

    #[test]
    fn small_regions_get_one_cell_per_page() {
        let r = region(0x4000_0000, 4, RegionKind::Mmap);
        assert_eq!(
            row(&r, &[0x4000_0000, 0x4000_2000], &[]),
            ("#.#.".to_string(), 1)
        );
    }

    #[test]
    fn large_regions_group_pages_and_mark_partial_groups() {
        let r = region(0x4000_0000, 1 << 18, RegionKind::Mmap); // 1 GiB
        let (cells, per_cell) = row(&r, &[0x4000_0000], &[]);
        assert_eq!(per_cell, 4096);
        assert_eq!(cells.len(), 64);
        assert!(cells.starts_with("+."));
    }

    #[test]
    fn guard_pages_draw_as_x() {
        assert_eq!(row(&region(0x7000, 1, RegionKind::Guard), &[], &[]).0, "x");
    }

    #[test]
    fn swapped_pages_draw_as_s_unless_some_page_of_the_cell_is_present() {
        let r = region(0x4000_0000, 4, RegionKind::Mmap);
        let (cells, _) = row(&r, &[0x4000_0000], &[0x4000_1000, 0x4000_3000]);
        assert_eq!(cells, "#s.s");
        let big = region(0x4000_0000, 128, RegionKind::Mmap); // 2 pages a cell
        let (cells, per_cell) = row(&big, &[0x4000_0000], &[0x4000_1000, 0x4000_2000]);
        assert_eq!(per_cell, 2);
        assert!(cells.starts_with("+s."), "{cells}");
    }
}
