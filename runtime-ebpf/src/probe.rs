//! The standard object, running: generated against the kernel's BTF, loaded,
//! attached, its prefilter set, its ring buffer read into typed records.

use lanner_event::Event;

use crate::btf::{Btf, BtfError};
use crate::convert::Converter;
use crate::filter::KernelFilter;
use crate::loader::{Loaded, LoaderError, RingReader};
use crate::programs::{
    self, DROPS_MAP, EVENTS_MAP, GenerateError, INTEREST_MAP, MAX_SYSCALLS, ObjectOptions,
    PF_COUNTS_MAP, PLANS_MAP, Record, default_plan,
};

/// Writes [`default_plan`] of every syscall that has one into the plans map
/// of a loaded object, so its `sys_exit` program copies the strings and
/// buffers the event conversion needs.
pub fn install_default_plans(loaded: &mut Loaded) -> Result<(), LoaderError> {
    for id in 0..MAX_SYSCALLS {
        let plan = default_plan(i64::from(id));
        if plan != 0 {
            loaded.set_array(PLANS_MAP, id, plan)?;
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("reading the kernel's BTF failed: {source}")]
    Btf {
        #[from]
        source: BtfError,
    },
    #[error(transparent)]
    Generate {
        #[from]
        source: GenerateError,
    },
    #[error(transparent)]
    Loader {
        #[from]
        source: LoaderError,
    },
    #[error("syscall id {syscall} is outside the prefilter's range (0..{max})")]
    SyscallOutOfRange { syscall: u32, max: u32 },
}

/// Lanner's kernel probe: the `sys_exit` program with its prefilter and,
/// optionally, the process-lifecycle programs. Dropping it detaches them.
#[derive(Debug)]
pub struct Probe {
    loaded: Loaded,
    ring: RingReader,
    malformed: u64,
}

impl Probe {
    /// Generates the object for the running kernel, loads every program,
    /// marks `syscalls` as wanted and attaches.
    pub fn start(opts: ObjectOptions, syscalls: &[u32]) -> Result<Self, ProbeError> {
        Self::start_with(opts, syscalls, &KernelFilter::none())
    }

    /// [`Probe::start`] with the rule prefilter `filter` in the `sys_exit` program.
    pub fn start_with(
        opts: ObjectOptions,
        syscalls: &[u32],
        filter: &KernelFilter,
    ) -> Result<Self, ProbeError> {
        let btf = Btf::from_sys_fs()?;
        let object = programs::generate_with(&btf, opts, filter)?;
        let mut loaded = Loaded::open(&object)?;
        loaded.load_all()?;
        install_default_plans(&mut loaded)?;
        let ring = loaded.take_ring(EVENTS_MAP)?;
        let mut probe = Probe {
            loaded,
            ring,
            malformed: 0,
        };
        for &syscall in syscalls {
            probe.want(syscall, true)?;
        }
        // Attaching last means no record is written before the prefilter
        // holds what the caller asked for.
        let names: Vec<String> = probe.loaded.program_names().map(str::to_owned).collect();
        for name in names {
            probe.loaded.attach(&name)?;
        }
        Ok(probe)
    }

    /// Lets `syscall` through the in-kernel prefilter, or stops it. Takes
    /// effect for the next syscall on any CPU.
    pub fn want(&mut self, syscall: u32, wanted: bool) -> Result<(), ProbeError> {
        let value = if wanted {
            crate::programs::interest::FILTERED
        } else {
            crate::programs::interest::NONE
        };
        self.set_interest(syscall, value)
    }

    /// Sets `syscall`'s interest value (see [`crate::programs::interest`]): not wanted,
    /// wanted through the rule prefilter, or wanted past it. Takes effect for the next syscall.
    pub fn set_interest(&mut self, syscall: u32, value: u8) -> Result<(), ProbeError> {
        if syscall >= MAX_SYSCALLS {
            return Err(ProbeError::SyscallOutOfRange {
                syscall,
                max: MAX_SYSCALLS,
            });
        }
        self.loaded.set_array(INTEREST_MAP, syscall, value)?;
        Ok(())
    }

    /// Hands every record now in the ring buffer to `f`; returns how many
    /// were decoded. Records that do not decode are counted in
    /// [`Probe::malformed`].
    pub fn drain(&mut self, mut f: impl FnMut(Record)) -> usize {
        let mut malformed = 0;
        let n = self.ring.drain(|bytes| match Record::parse(bytes) {
            Some(record) => f(record),
            None => malformed += 1,
        });
        self.malformed += malformed;
        n - usize::try_from(malformed).unwrap_or(0)
    }

    /// Hands every record now in the ring buffer to `f` as an event, through
    /// `conv`; `buf` is reused for every event, so nothing is allocated per
    /// record once it has grown. Returns how many events were produced.
    /// Records without an event (see [`Converter::to_event`]) are skipped.
    pub fn drain_events(
        &mut self,
        conv: &Converter,
        buf: &mut Vec<u8>,
        mut f: impl FnMut(&Event<'_>),
    ) -> usize {
        let mut events = 0;
        let mut malformed = 0;
        self.ring.drain(|bytes| {
            buf.clear();
            match conv.to_event(bytes, buf) {
                Some(converted) => match converted.event(buf) {
                    Ok(ev) => {
                        events += 1;
                        f(&ev);
                    }
                    // The converter wrote something the event parser refuses:
                    // a bug, counted like an undecodable record.
                    Err(_) => malformed += 1,
                },
                None => {
                    if Record::parse(bytes).is_none() {
                        malformed += 1;
                    }
                }
            }
        });
        self.malformed += malformed;
        events
    }

    /// Records lost because the ring buffer was full, summed over CPUs.
    pub fn drops(&self) -> Result<u64, ProbeError> {
        Ok(self.loaded.per_cpu_sum(DROPS_MAP, 0)?)
    }

    /// What the rule prefilter saw and dropped of syscall `id` so far, summed over CPUs:
    /// `(seen, dropped)`. "Seen" counts what passed the interest array.
    pub fn prefilter_counts(&self, id: u32) -> Result<(u64, u64), ProbeError> {
        let [seen, dropped] = self.loaded.per_cpu_sum2(PF_COUNTS_MAP, id)?;
        Ok((seen, dropped))
    }

    /// Records that could not be decoded (a layout mismatch: a bug).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }
}
