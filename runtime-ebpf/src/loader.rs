//! A thin boundary over aya: open an emitted object (which creates its maps),
//! load programs through the verifier, attach them, fill maps and read the
//! ring buffer. Errors name the program or map involved and, when the verifier
//! rejects a program, carry its log.

use std::io;
use std::time::{Duration, Instant};

use aya::maps::{Array, MapData, MapError, PerCpuArray, RingBuf};
use aya::programs::{BtfTracePoint, Program, ProgramError, RawTracePoint};
use aya::{Ebpf, EbpfError, EbpfLoader, Pod};
use thiserror::Error;

use crate::elf::{AttachPoint, EmittedObject};

#[derive(Debug, Error)]
pub enum LoaderError {
    #[error("aya could not open the eBPF object: {source}")]
    Open {
        #[source]
        source: EbpfError,
    },
    #[error("program `{program}` is not in the object")]
    NoSuchProgram { program: String },
    #[error("program `{program}` has type {found}, but its attach point needs {expected}")]
    WrongProgramType {
        program: String,
        expected: &'static str,
        found: String,
    },
    #[error("the verifier rejected program `{program}` ({source}); verifier log:\n{verifier_log}")]
    Verifier {
        program: String,
        #[source]
        source: io::Error,
        verifier_log: String,
    },
    #[error("program `{program}`: {source}")]
    Program {
        program: String,
        #[source]
        source: ProgramError,
    },
    #[error("reading the kernel's BTF for program `{program}` failed: {source}")]
    KernelBtf {
        program: String,
        #[source]
        source: aya::BtfError,
    },
    #[error("map `{map}` is not in the object (or was already taken)")]
    NoSuchMap { map: String },
    #[error("map `{map}`: {source}")]
    Map {
        map: String,
        #[source]
        source: MapError,
    },
}

/// An object whose maps exist in the kernel, with its programs loaded on
/// demand. Dropping it detaches and unloads everything.
pub struct Loaded {
    ebpf: Ebpf,
    programs: Vec<(String, AttachPoint)>,
    kernel_btf: Option<aya::Btf>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("programs", &self.programs)
            .finish_non_exhaustive()
    }
}

fn program_error(program: &str, source: ProgramError) -> LoaderError {
    match source {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => LoaderError::Verifier {
            program: program.to_owned(),
            source: io_error,
            verifier_log: verifier_log.to_string(),
        },
        source => LoaderError::Program {
            program: program.to_owned(),
            source,
        },
    }
}

fn type_name(p: &Program) -> String {
    format!("{:?}", p.prog_type())
}

impl Loaded {
    /// Parses the object and creates its maps; no program is loaded yet.
    pub fn open(object: &EmittedObject) -> Result<Self, LoaderError> {
        let ebpf = EbpfLoader::new()
            .load(&object.elf)
            .map_err(|source| LoaderError::Open { source })?;
        Ok(Loaded {
            ebpf,
            programs: object.programs.clone(),
            kernel_btf: None,
        })
    }

    /// Names of the programs in the object, in emission order.
    pub fn program_names(&self) -> impl Iterator<Item = &str> {
        self.programs.iter().map(|(name, _)| name.as_str())
    }

    fn attach_point(&self, program: &str) -> Result<AttachPoint, LoaderError> {
        self.programs
            .iter()
            .find(|(name, _)| name == program)
            .map(|(_, attach)| attach.clone())
            .ok_or_else(|| LoaderError::NoSuchProgram {
                program: program.to_owned(),
            })
    }

    fn program_mut(&mut self, program: &str) -> Result<&mut Program, LoaderError> {
        self.ebpf
            .program_mut(program)
            .ok_or_else(|| LoaderError::NoSuchProgram {
                program: program.to_owned(),
            })
    }

    /// Submits one program to the verifier.
    pub fn load_program(&mut self, program: &str) -> Result<(), LoaderError> {
        match self.attach_point(program)? {
            AttachPoint::RawTracepoint { .. } => {
                let p = self.program_mut(program)?;
                let found = type_name(p);
                let p: &mut RawTracePoint =
                    p.try_into().map_err(|_| LoaderError::WrongProgramType {
                        program: program.to_owned(),
                        expected: "raw_tracepoint",
                        found,
                    })?;
                p.load().map_err(|e| program_error(program, e))
            }
            AttachPoint::TpBtf { tracepoint } => {
                let Loaded {
                    ebpf, kernel_btf, ..
                } = self;
                // The kernel's BTF is parsed once per object and only if a
                // tp_btf program needs it (it is several megabytes).
                let btf = match kernel_btf {
                    Some(btf) => btf,
                    slot @ None => {
                        let btf =
                            aya::Btf::from_sys_fs().map_err(|source| LoaderError::KernelBtf {
                                program: program.to_owned(),
                                source,
                            })?;
                        slot.insert(btf)
                    }
                };
                let p = ebpf
                    .program_mut(program)
                    .ok_or_else(|| LoaderError::NoSuchProgram {
                        program: program.to_owned(),
                    })?;
                let found = type_name(p);
                let p: &mut BtfTracePoint =
                    p.try_into().map_err(|_| LoaderError::WrongProgramType {
                        program: program.to_owned(),
                        expected: "tp_btf",
                        found,
                    })?;
                p.load(&tracepoint, btf)
                    .map_err(|e| program_error(program, e))
            }
        }
    }

    /// Loads every program; stops at the first rejection.
    pub fn load_all(&mut self) -> Result<(), LoaderError> {
        let names: Vec<String> = self.programs.iter().map(|(n, _)| n.clone()).collect();
        for name in names {
            self.load_program(&name)?;
        }
        Ok(())
    }

    /// Attaches a loaded program to its tracepoint. The link lives as long as
    /// this object.
    pub fn attach(&mut self, program: &str) -> Result<(), LoaderError> {
        let attach = self.attach_point(program)?;
        let p = self.program_mut(program)?;
        let found = type_name(p);
        let wrong = |expected| LoaderError::WrongProgramType {
            program: program.to_owned(),
            expected,
            found: found.clone(),
        };
        match attach {
            AttachPoint::RawTracepoint { tracepoint } => {
                let p: &mut RawTracePoint = p.try_into().map_err(|_| wrong("raw_tracepoint"))?;
                p.attach(&tracepoint)
                    .map(drop)
                    .map_err(|e| program_error(program, e))
            }
            AttachPoint::TpBtf { .. } => {
                let p: &mut BtfTracePoint = p.try_into().map_err(|_| wrong("tp_btf"))?;
                p.attach().map(drop).map_err(|e| program_error(program, e))
            }
        }
    }

    /// Loads and attaches every program.
    pub fn load_and_attach_all(&mut self) -> Result<(), LoaderError> {
        self.load_all()?;
        let names: Vec<String> = self.programs.iter().map(|(n, _)| n.clone()).collect();
        for name in names {
            self.attach(&name)?;
        }
        Ok(())
    }

    /// How many instructions the verifier processed for a loaded program
    /// (its measure of verification cost), if the kernel reports it.
    pub fn verified_instructions(&self, program: &str) -> Result<Option<u32>, LoaderError> {
        let p = self
            .ebpf
            .program(program)
            .ok_or_else(|| LoaderError::NoSuchProgram {
                program: program.to_owned(),
            })?;
        let info = p.info().map_err(|e| program_error(program, e))?;
        Ok(info.verified_instruction_count())
    }

    fn map_mut(&mut self, map: &str) -> Result<&mut aya::maps::Map, LoaderError> {
        self.ebpf
            .map_mut(map)
            .ok_or_else(|| LoaderError::NoSuchMap {
                map: map.to_owned(),
            })
    }

    /// Sets `map[index] = value` in an array map.
    pub fn set_array<V: Pod>(
        &mut self,
        map: &str,
        index: u32,
        value: V,
    ) -> Result<(), LoaderError> {
        let m = self.map_mut(map)?;
        let mut array: Array<&mut MapData, V> =
            Array::try_from(m).map_err(|source| LoaderError::Map {
                map: map.to_owned(),
                source,
            })?;
        array
            .set(index, value, 0)
            .map_err(|source| LoaderError::Map {
                map: map.to_owned(),
                source,
            })
    }

    /// Reads `map[index]` from an array map.
    pub fn get_array<V: Pod>(&self, map: &str, index: u32) -> Result<V, LoaderError> {
        let m = self.ebpf.map(map).ok_or_else(|| LoaderError::NoSuchMap {
            map: map.to_owned(),
        })?;
        let array: Array<&MapData, V> = Array::try_from(m).map_err(|source| LoaderError::Map {
            map: map.to_owned(),
            source,
        })?;
        array.get(&index, 0).map_err(|source| LoaderError::Map {
            map: map.to_owned(),
            source,
        })
    }

    /// Sums a `u64` slot of a per-CPU array over all CPUs.
    pub fn per_cpu_sum(&self, map: &str, index: u32) -> Result<u64, LoaderError> {
        let m = self.ebpf.map(map).ok_or_else(|| LoaderError::NoSuchMap {
            map: map.to_owned(),
        })?;
        let array: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(m).map_err(|source| LoaderError::Map {
                map: map.to_owned(),
                source,
            })?;
        let values = array.get(&index, 0).map_err(|source| LoaderError::Map {
            map: map.to_owned(),
            source,
        })?;
        Ok(values.iter().copied().fold(0u64, u64::wrapping_add))
    }

    /// `map[index]` of a per-CPU array of `[u64; 2]` values, summed over CPUs per element.
    pub fn per_cpu_sum2(&self, map: &str, index: u32) -> Result<[u64; 2], LoaderError> {
        let m = self.ebpf.map(map).ok_or_else(|| LoaderError::NoSuchMap {
            map: map.to_owned(),
        })?;
        let array: PerCpuArray<&MapData, [u64; 2]> =
            PerCpuArray::try_from(m).map_err(|source| LoaderError::Map {
                map: map.to_owned(),
                source,
            })?;
        let values = array.get(&index, 0).map_err(|source| LoaderError::Map {
            map: map.to_owned(),
            source,
        })?;
        Ok(values.iter().fold([0u64; 2], |[a, b], [x, y]| {
            [a.wrapping_add(*x), b.wrapping_add(*y)]
        }))
    }

    /// Takes the ring buffer out of the object for a reader (one per map).
    pub fn take_ring(&mut self, map: &str) -> Result<RingReader, LoaderError> {
        let m = self
            .ebpf
            .take_map(map)
            .ok_or_else(|| LoaderError::NoSuchMap {
                map: map.to_owned(),
            })?;
        let ring = RingBuf::try_from(m).map_err(|source| LoaderError::Map {
            map: map.to_owned(),
            source,
        })?;
        Ok(RingReader { ring })
    }
}

/// Reads records from a ring buffer. Producers submit with
/// `BPF_RB_NO_WAKEUP`, so the reader polls on a timer instead of waiting on
/// the map's file descriptor.
pub struct RingReader {
    ring: RingBuf<MapData>,
}

impl std::fmt::Debug for RingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingReader").finish_non_exhaustive()
    }
}

impl RingReader {
    /// Hands every record now in the buffer to `f`; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            f(&item);
            n += 1;
        }
        n
    }

    /// Drains the buffer every `interval` for `duration`, calling `f` on
    /// each record until it returns `true` (found) or time runs out. Returns
    /// whether `f` found what it wanted.
    pub fn poll_until(
        &mut self,
        duration: Duration,
        interval: Duration,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + duration;
        loop {
            while let Some(item) = self.ring.next() {
                if f(&item) {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(interval);
        }
    }
}
