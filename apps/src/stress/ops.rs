//! One stress worker: random operations on its own address space, each checked
//! against the model (values read, the counters, call results, kill reasons).
use super::model::{FILE_PAGES, Model, PAGE, WINDOW_END, WINDOW_PAGES, WINDOW_START, offset};
use super::rng::Rng;
use alloc::{boxed::Box, format, string::String};
use lazuli_api::fs::{File, Sharing};
use lazuli_api::layout::BREAK_START;
use lazuli_api::{
    ExitStatus, Placement, Prot, VmError, fork, fork_copy, map, map_guard, mprotect, munmap, numpp,
    numvp, sbrk, swapped_pages, user, wait,
};

pub type Checked = Result<(), String>;

pub struct Worker {
    pub rng: Rng,
    pub model: Model,
    /// The worker's file, open for reading and writing (a handle is its task's
    /// own: forked children have none and map no new files).
    pub file: Option<File>,
}

const PROTS: [Prot; 5] = [Prot::READ, Prot::RW, Prot::RX, Prot::RWX, Prot::NONE];

/// Fails with a description unless `got == want`.
fn check<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) -> Checked {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: kernel {got:?}, model {want:?}"))
    }
}

impl Worker {
    /// One random operation, then the counters; Err describes the first mismatch.
    /// `depth` > 0 in forked children (which do not fork again).
    pub async fn step(&mut self, depth: u32) -> Checked {
        match self.rng.below(100) {
            0..=14 => self.map_op()?,
            15..=22 => self.munmap_op()?,
            23..=30 => self.mprotect_op()?,
            31..=55 => self.write_op().await?,
            56..=80 => self.read_op().await?,
            81..=85 => self.sbrk_op()?,
            86..=93 => self.bad_access_op().await?,
            _ if depth == 0 => {
                self.fork_op().await?;
                self.verify_all().await?;
            }
            _ => {}
        }
        self.check_counters()
    }

    /// numvp exactly; numpp as present + swapped pages. Only under memory pressure
    /// (`stress … HOLD_MIB`) may the kernel also have dropped file pages the
    /// model has present: reclaim gives those back to their file, unmapped.
    fn check_counters(&self) -> Checked {
        let kernel = (numvp(), numpp() + swapped_pages().len());
        let model = (self.model.numvp(), self.model.numpp());
        let droppable = if super::under_pressure() {
            self.model.droppable_file_pages()
        } else {
            0
        };
        if kernel.0 == model.0 && kernel.1 <= model.1 && kernel.1 + droppable >= model.1 {
            return Ok(());
        }
        check("(numvp, numpp + swapped)", kernel, model)
    }

    fn random_page(&mut self) -> u64 {
        WINDOW_START + self.rng.below(WINDOW_PAGES) * PAGE
    }

    /// A mapped page matching `want`, if any.
    fn pick(&mut self, want: impl Fn(&super::model::PageState) -> bool) -> Option<u64> {
        let candidates: alloc::vec::Vec<u64> = self
            .model
            .pages
            .iter()
            .filter(|(_, p)| want(p))
            .map(|(&a, _)| a)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.rng.below(candidates.len() as u64) as usize])
    }

    fn map_op(&mut self) -> Checked {
        let pages = 1 + self.rng.below(8);
        let guard = self.rng.one_in(8);
        let prot = PROTS[self.rng.below(PROTS.len() as u64) as usize];
        let at = self.random_page().min(WINDOW_END - pages * PAGE);
        let (placement, want) = match self.rng.below(4) {
            0 => (
                Placement::Anywhere,
                Ok(self.model.first_fit(pages, WINDOW_START)),
            ),
            1 => (Placement::Hint(at), Ok(self.model.first_fit(pages, at))),
            2 => (Placement::Fixed(at), Ok(at)),
            _ if self.model.any_mapped(at, pages) => {
                (Placement::FixedNoReplace(at), Err(VmError::Overlap))
            }
            _ => (Placement::FixedNoReplace(at), Ok(at)),
        };
        let len = (pages * PAGE) as usize;
        if let Some(file) = self.file.as_ref().filter(|_| !guard && self.rng.one_in(3)) {
            // A window onto the file, sometimes reaching past its end.
            let first = self.rng.below(FILE_PAGES);
            let shared = self.rng.one_in(2);
            let sharing = if shared {
                Sharing::Shared
            } else {
                Sharing::Private
            };
            let got = file.map(first * PAGE, len, prot, sharing, placement);
            check(
                &format!("map of file page {first}, {len}, {prot}, {placement:?}, {sharing:?}"),
                got.map(|a| a as u64).map_err(|e| alloc::format!("{e}")),
                want.map_err(|e| alloc::format!("{e}")),
            )?;
            if let Ok(start) = want {
                self.model.unmap(start, pages);
                self.model.map_file(start, pages, prot, first, shared);
            }
            return Ok(());
        }
        let got = if guard {
            map_guard(len, placement)
        } else {
            map(len, prot, placement)
        };
        check(
            &format!("map({len}, {prot}, {placement:?}, guard={guard})"),
            got.map(|a| a as u64),
            want,
        )?;
        if let Ok(start) = want {
            self.model.unmap(start, pages); // Fixed replaces
            self.model.map(start, pages, prot, guard);
        }
        Ok(())
    }

    fn munmap_op(&mut self) -> Checked {
        let start = self.random_page();
        let pages = (1 + self.rng.below(16)).min((WINDOW_END - start) / PAGE);
        if self.rng.one_in(16) {
            let got = munmap(start as usize + 1, PAGE as usize);
            return check("munmap unaligned", got, Err(VmError::Unaligned));
        }
        check(
            &format!("munmap({start:#x}, {pages} pages)"),
            munmap(start as usize, (pages * PAGE) as usize),
            Ok(()),
        )?;
        self.model.unmap(start, pages);
        Ok(())
    }

    fn mprotect_op(&mut self) -> Checked {
        // Aim at mapped pages most of the time, so that protections really change.
        let start = match self.pick(|_| true) {
            Some(a) if !self.rng.one_in(4) => a,
            _ => self.random_page(),
        };
        // Mapped pages may lie above the window (first fit from a high hint).
        let pages = 1 + self.rng.below(4);
        let prot = PROTS[self.rng.below(PROTS.len() as u64) as usize];
        let range = self.model.pages.range(start..start + pages * PAGE);
        let want = if !self.model.all_mapped(start, pages) {
            Err(VmError::NotMapped)
        } else if range.clone().any(|(_, p)| p.guard) {
            Err(VmError::Guard)
        } else {
            Ok(())
        };
        let got = mprotect(start as usize, (pages * PAGE) as usize, prot);
        check(
            &format!("mprotect({start:#x}, {pages} pages, {prot})"),
            got,
            want,
        )?;
        if want.is_ok() {
            self.model.protect(start, pages, prot);
        }
        Ok(())
    }

    async fn write_op(&mut self) -> Checked {
        let Some(page) = self.pick(|p| p.prot.writable() && !past_end(p)) else {
            return Ok(());
        };
        let value = self.rng.below(255) as u8 + 1;
        user::store((page + offset(page)) as usize, value).await;
        self.model.store(page, offset(page), value);
        Ok(())
    }

    async fn read_op(&mut self) -> Checked {
        let Some(page) = self.pick(|p| p.prot.readable() && !past_end(p)) else {
            return Ok(());
        };
        self.model.pages.get_mut(&page).expect("picked").present = true;
        check(
            &format!("byte at {:#x}", page + offset(page)),
            user::load((page + offset(page)) as usize).await,
            self.model.byte(page, offset(page)),
        )?;
        let within = (offset(page) + 1) % PAGE;
        check(
            &format!("byte at {:#x}", page + within),
            user::load((page + within) as usize).await,
            self.model.byte(page, within),
        )
    }

    fn sbrk_op(&mut self) -> Checked {
        let old = BREAK_START + self.model.heap_pages * PAGE;
        if self.rng.one_in(2) || self.model.heap_pages == 0 {
            let grow = 1 + self.rng.below(2);
            check("sbrk grow", sbrk((grow * PAGE) as isize) as u64, old)?;
            self.model.heap_pages += grow;
        } else {
            let shrink = 1 + self.rng.below(self.model.heap_pages + 1);
            let want = if shrink <= self.model.heap_pages {
                old
            } else {
                u64::MAX
            };
            check(
                "sbrk shrink",
                sbrk(-((shrink * PAGE) as isize)) as u64,
                want,
            )?;
            if want == old {
                self.model.heap_pages -= shrink;
            }
        }
        Ok(())
    }

    /// A child (a copy-on-write copy of us) makes one access the model says must be
    /// refused; the kill reason must be exactly the predicted one.
    async fn bad_access_op(&mut self) -> Checked {
        let (addr, kind, why) = match self.rng.below(6) {
            5 => match self.pick(|p| p.prot.readable() && past_end(p)) {
                Some(a) => (a + offset(a), Bad::Read, "read, past end of file"),
                None => self.unmapped_target(),
            },
            0 => match self.pick(|p| !p.guard && p.prot.readable() && !p.prot.writable()) {
                Some(a) => (a + offset(a), Bad::Write, "write, read-only"),
                None => self.unmapped_target(),
            },
            1 => match self.pick(|p| !p.guard && !p.prot.readable()) {
                Some(a) => (a, Bad::Read, "read, no-access"),
                None => self.unmapped_target(),
            },
            2 => match self.pick(|p| p.guard) {
                Some(a) => (a + 8, Bad::Read, "guard page"),
                None => self.unmapped_target(),
            },
            3 => match self.pick(|p| p.prot.readable() && !p.prot.executable()) {
                Some(a) => (a, Bad::Exec, "exec, no-exec"),
                None => self.unmapped_target(),
            },
            _ => self.unmapped_target(),
        };
        let want = format!("killed: page fault at {addr:#x} ({why})");
        let child = fork(async move {
            kind.touch(addr as usize).await;
            0
        });
        let Ok(pid) = child else {
            return Err(String::from("fork for a bad access failed"));
        };
        check(
            &format!("bad {kind:?} at {addr:#x}"),
            match wait(pid).await {
                Ok(ExitStatus::Killed(reason)) => format!("killed: {reason}"),
                other => format!("{other:?}"),
            },
            want,
        )
    }

    fn unmapped_target(&mut self) -> (u64, Bad, &'static str) {
        for _ in 0..16 {
            let page = self.random_page();
            if !self.model.pages.contains_key(&page) {
                return (page + offset(page), Bad::Read, "read, not mapped");
            }
        }
        // The window is crowded: the first unmapped page above it (first fit from a
        // high hint can place regions there too).
        let mut page = WINDOW_END;
        while self.model.pages.contains_key(&page) {
            page += PAGE;
        }
        (page, Bad::Read, "read, not mapped")
    }

    /// A child runs a few checked steps on its own copy; the parent must be unchanged
    /// (its later reads check that).
    async fn fork_op(&mut self) -> Checked {
        let mut child = Worker {
            rng: Rng::new(self.rng.next()),
            model: self.model.clone(),
            file: None,
        };
        let eager = self.rng.one_in(4);
        {
            let body = async move {
                for _ in 0..8 {
                    // Boxed: a child's step is the same (async, recursive) function.
                    if let Err(why) = Box::pin(child.step(1)).await {
                        super::record_child_mismatch(why);
                        return 1;
                    }
                }
                0
            };
            let pid = if eager { fork_copy(body) } else { fork(body) };
            let Ok(pid) = pid else {
                return Err(String::from("fork failed"));
            };
            match wait(pid).await {
                Ok(ExitStatus::Exited(0)) => Ok(()),
                Ok(ExitStatus::Exited(_)) => Err(format!(
                    "in a forked child: {}",
                    super::take_child_mismatch()
                )),
                other => Err(format!("forked child ended with {other:?}")),
            }
        }
    }

    /// Reads back every readable page: after a fork, nothing the child did may show
    /// in the parent.
    pub async fn verify_all(&mut self) -> Checked {
        let pages: alloc::vec::Vec<u64> = self
            .model
            .pages
            .iter()
            .filter(|(_, p)| p.prot.readable() && !past_end(p))
            .map(|(&a, _)| a)
            .collect();
        for page in pages {
            self.model.pages.get_mut(&page).expect("listed").present = true;
            let at = page + offset(page);
            check(
                &format!("after a fork, byte at {at:#x}"),
                user::load(at as usize).await,
                self.model.byte(page, offset(page)),
            )?;
        }
        Ok(())
    }

    /// The file as the file API reads it must hold what the shared stores put
    /// there (the same page cache), and nothing else.
    pub async fn verify_file(&mut self) -> Checked {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(0).map_err(|e| format!("seek: {e}"))?;
        let bytes = file.read_to_end().await.map_err(|e| format!("read: {e}"))?;
        check("file size", bytes.len() as u64, FILE_PAGES * PAGE)?;
        let stored = self.model.file_bytes.borrow();
        for (at, &byte) in bytes.iter().enumerate() {
            let want = stored.get(&(at as u64)).copied().unwrap_or(0);
            if byte != want {
                return check(&format!("file byte {at}"), byte, want);
            }
        }
        Ok(())
    }
}

/// Whether a page is a file page wholly past the end of its file.
fn past_end(p: &super::model::PageState) -> bool {
    p.file.is_some_and(|f| f.past_end())
}

/// The kind of access a bad-access child makes.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Read,
    Write,
    Exec,
}

impl Bad {
    async fn touch(self, addr: usize) {
        match self {
            Bad::Read => {
                user::load(addr).await;
            }
            Bad::Write => user::store(addr, 1).await,
            Bad::Exec => {
                user::call(addr).await;
            }
        }
    }
}
