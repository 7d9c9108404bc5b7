//! Scap writer producing the layout that both sysdig 0.29 and current libs read
//! (FORMAT.md §8): a 28-byte SHB 1.2 without options, MI, IL_V2, UL_V2, PL_V9 with the
//! pre-0.10 tail, FDL_V2, and EV_V2/EVF_V2 (or their `_LARGE` variants) event blocks.

use std::io::{self, Write};

use crate::block::BlockType;
use crate::event::{Event, EventHeader, V2_HEADER_LEN, has_large_lengths};
use crate::reader::{BYTE_ORDER_MAGIC, MAX_EVENT_BLOCK_BODY};
use crate::records::{FdDetail, FdInfo, Interface, MachineInfo, ThreadInfo, UserEntry};

/// Errors of the scap writer.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing to the sink failed.
    #[error("I/O error writing block {block_index}: {source}")]
    Io {
        /// Index of the block being written.
        block_index: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A parameter of a u16-length event is longer than 65535 bytes.
    #[error("parameter {index} of event type {event_type} is {len} bytes, above 65535")]
    ParamTooLong {
        /// Event type.
        event_type: u16,
        /// Parameter index.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The event does not fit in a non-LARGE event block (64 KiB).
    #[error("event type {event_type} needs a block of {len} bytes, above the 64 KiB limit")]
    EventTooLarge {
        /// Event type.
        event_type: u16,
        /// Block length needed.
        len: u64,
    },
    /// A block would exceed the u32 length field.
    #[error("block of {len} bytes does not fit a u32 length")]
    BlockTooLarge {
        /// Block length needed.
        len: u64,
    },
}

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterOptions {
    /// Rewrite fd types newer than libs-2022 (17–21: bpf, userfaultfd, io_uring, memfd,
    /// pidfd) and unknown types as UNSUPPORTED (10) with their name, because sysdig 0.29
    /// refuses any fd type above 16 ("wrong fd type").
    pub sysdig029_fd_types: bool,
    /// Write process entries with the whole tail of current libs (`pidns_init_start_ts`,
    /// `tty`, `loginuid`, `exe_writable`, the capability sets, the exe layer flags, the exe
    /// inode times, `pgid`) instead of the pre-0.10 tail. Current libs read it; sysdig 0.29
    /// misreads `loginuid` in it (FORMAT.md §8).
    pub current_thread_tail: bool,
}

/// Writes a scap stream.
pub struct ScapWriter<W: Write> {
    out: W,
    scratch: Vec<u8>,
    blocks: u64,
    opts: WriterOptions,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<W: Write> ScapWriter<W> {
    /// Starts a stream by writing the section header (28 bytes, version 1.2, no options).
    pub fn new(out: W) -> Result<Self, WriteError> {
        Self::with_options(out, WriterOptions::default())
    }

    /// Starts a stream with explicit options.
    pub fn with_options(out: W, opts: WriterOptions) -> Result<Self, WriteError> {
        let mut w = ScapWriter {
            out,
            scratch: Vec::with_capacity(4096),
            blocks: 0,
            opts,
        };
        w.write_section_header()?;
        Ok(w)
    }

    /// Writes another section header: readers reset their state after it (concatenated
    /// captures).
    pub fn write_section_header(&mut self) -> Result<(), WriteError> {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&2u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        self.write_block(BlockType::SHB, &body)
    }

    /// Writes a block with its header, padding and trailer.
    fn write_block(&mut self, block: BlockType, body: &[u8]) -> Result<(), WriteError> {
        let pad = pad4(body.len());
        let total = 8 + body.len() + pad + 4;
        let total32 =
            u32::try_from(total).map_err(|_| WriteError::BlockTooLarge { len: total as u64 })?;
        let block_index = self.blocks;
        let io = |source| WriteError::Io {
            block_index,
            source,
        };
        self.out.write_all(&block.0.to_le_bytes()).map_err(io)?;
        self.out.write_all(&total32.to_le_bytes()).map_err(io)?;
        self.out.write_all(body).map_err(io)?;
        let zeros = [0u8; 3];
        self.out
            .write_all(zeros.get(..pad).unwrap_or_default())
            .map_err(io)?;
        self.out.write_all(&total32.to_le_bytes()).map_err(io)?;
        self.blocks += 1;
        Ok(())
    }

    fn flush_scratch(&mut self, block: BlockType) -> Result<(), WriteError> {
        let body = std::mem::take(&mut self.scratch);
        let r = self.write_block(block, &body);
        self.scratch = body;
        r
    }

    /// Writes the machine info block.
    pub fn write_machine_info(&mut self, mi: &MachineInfo) -> Result<(), WriteError> {
        self.scratch.clear();
        mi.encode(&mut self.scratch);
        self.flush_scratch(BlockType::MI)
    }

    /// Writes an IL_V2 interface list block.
    pub fn write_interfaces<'a>(
        &mut self,
        ifaces: impl IntoIterator<Item = Interface<'a>>,
    ) -> Result<(), WriteError> {
        self.scratch.clear();
        for i in ifaces {
            i.encode_v2(&mut self.scratch);
        }
        self.flush_scratch(BlockType::IL_V2)
    }

    /// Writes a UL_V2 user/group list block (libscap writes users first, then groups).
    pub fn write_users<'a>(
        &mut self,
        entries: impl IntoIterator<Item = UserEntry<'a>>,
    ) -> Result<(), WriteError> {
        self.scratch.clear();
        for e in entries {
            e.encode_v2(&mut self.scratch);
        }
        self.flush_scratch(BlockType::UL_V2)
    }

    /// Writes a PL_V9 process list block (its entries' tail as [`WriterOptions`] says).
    pub fn write_threads<'a>(
        &mut self,
        threads: impl IntoIterator<Item = ThreadInfo<'a>>,
    ) -> Result<(), WriteError> {
        self.scratch.clear();
        for t in threads {
            if self.opts.current_thread_tail {
                t.encode_v9_current(&mut self.scratch);
            } else {
                t.encode_v9(&mut self.scratch);
            }
        }
        self.flush_scratch(BlockType::PL_V9)
    }

    /// Writes the FDL_V2 fd table of one thread.
    pub fn write_fd_table<'a>(
        &mut self,
        tid: i64,
        fds: impl IntoIterator<Item = FdInfo<'a>>,
    ) -> Result<(), WriteError> {
        self.scratch.clear();
        self.scratch.extend_from_slice(&tid.to_le_bytes());
        for mut f in fds {
            if self.opts.sysdig029_fd_types && (f.fd_type > 16 || f.fd_type == 0) {
                f.fd_type = crate::records::fd_type::UNSUPPORTED;
                if !matches!(f.detail, FdDetail::Name(_)) {
                    f.detail = FdDetail::Name(b"");
                }
            }
            f.encode_v2(&mut self.scratch);
        }
        self.flush_scratch(BlockType::FDL_V2)
    }

    /// Writes an event given its header fields and raw parameter values.
    ///
    /// Lengths are u32 for `EF_LARGE_PAYLOAD` event types and u16 otherwise; the block type
    /// is EV_V2/EVF_V2 (flags zero/non-zero), `_LARGE` for large-payload types.
    pub fn write_event_parts(
        &mut self,
        header: EventHeader,
        params: &[&[u8]],
    ) -> Result<(), WriteError> {
        let ty = header.event_type;
        let wide = has_large_lengths(ty);
        let width = if wide { 4 } else { 2 };
        let values: usize = params.iter().map(|p| p.len()).sum();
        let evt_len = V2_HEADER_LEN + width * params.len() + values;
        let evt_len32 = u32::try_from(evt_len).map_err(|_| WriteError::BlockTooLarge {
            len: evt_len as u64,
        })?;
        let flags = header.dump_flags != 0;
        let prefix = if flags { 6 } else { 2 };
        let block = match (flags, wide) {
            (false, false) => BlockType::EV_V2,
            (true, false) => BlockType::EVF_V2,
            (false, true) => BlockType::EV_V2_LARGE,
            (true, true) => BlockType::EVF_V2_LARGE,
        };
        if !wide {
            if let Some((index, p)) = params
                .iter()
                .enumerate()
                .find(|(_, p)| p.len() > usize::from(u16::MAX))
            {
                return Err(WriteError::ParamTooLong {
                    event_type: ty,
                    index,
                    len: p.len(),
                });
            }
            let body = prefix + evt_len;
            let total_minus_header = (body + pad4(body) + 4) as u64;
            if total_minus_header > MAX_EVENT_BLOCK_BODY {
                return Err(WriteError::EventTooLarge {
                    event_type: ty,
                    len: total_minus_header + 8,
                });
            }
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&header.cpu.to_le_bytes());
        if flags {
            self.scratch
                .extend_from_slice(&header.dump_flags.to_le_bytes());
        }
        self.scratch.extend_from_slice(&header.ts.to_le_bytes());
        self.scratch.extend_from_slice(&header.tid.to_le_bytes());
        self.scratch.extend_from_slice(&evt_len32.to_le_bytes());
        self.scratch.extend_from_slice(&ty.to_le_bytes());
        // INVARIANT: params.len() ≤ evt_len, which fits u32 (checked above).
        self.scratch
            .extend_from_slice(&(params.len() as u32).to_le_bytes());
        for (index, p) in params.iter().enumerate() {
            if wide {
                // INVARIANT: p.len() ≤ evt_len, which fits u32.
                self.scratch
                    .extend_from_slice(&(p.len() as u32).to_le_bytes());
            } else {
                let len = u16::try_from(p.len()).map_err(|_| WriteError::ParamTooLong {
                    event_type: ty,
                    index,
                    len: p.len(),
                })?;
                self.scratch.extend_from_slice(&len.to_le_bytes());
            }
        }
        for p in params {
            self.scratch.extend_from_slice(p);
        }
        self.flush_scratch(block)
    }

    /// Writes an event read from any source (v1 events are upgraded to v2 blocks).
    pub fn write_event(&mut self, ev: &Event<'_>) -> Result<(), WriteError> {
        let mut params: [&[u8]; 64] = [&[]; 64];
        let n = ev.nparams();
        if n <= params.len() {
            for (slot, p) in params.iter_mut().zip(ev.raw_params()) {
                *slot = p;
            }
            self.write_event_parts(ev.header(), params.get(..n).unwrap_or_default())
        } else {
            let all: Vec<&[u8]> = ev.raw_params().collect();
            self.write_event_parts(ev.header(), &all)
        }
    }

    /// Number of blocks written so far.
    pub fn blocks_written(&self) -> u64 {
        self.blocks
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> Result<W, WriteError> {
        let block_index = self.blocks;
        self.out.flush().map_err(|source| WriteError::Io {
            block_index,
            source,
        })?;
        Ok(self.out)
    }
}
