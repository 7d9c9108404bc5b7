//! Streaming scap reader.
//!
//! The reader keeps a window of the stream in one reusable buffer and hands out blocks as
//! slices of it, so a block is copied once (from the OS into the window) and memory stays
//! constant whatever the file size: a few hundred KiB of I/O buffers plus the largest block
//! seen (capped by [`ReaderOptions::max_block_len`]). Gzip input is detected by its magic and
//! decompressed on the fly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::block::{BlockKind, BlockType, ScapError};
use crate::bytes::{Cursor, le_u16, le_u32, le_u64};
use crate::event::{Event, EventError, EventSource};
use crate::records::{
    EntryError, FdTable, InterfaceList, MachineInfo, ProcessList, SectionHeader, UserList,
};

/// Byte-order magic of the section header.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Largest `block_total_length − 8` accepted for non-LARGE event blocks.
pub const MAX_EVENT_BLOCK_BODY: u64 = 65536;

const IO_BUF: usize = 256 * 1024;
/// The read window: four times the I/O buffer, so that refills (of at least `IO_BUF` once the
/// unread tail moved to the front) go straight from the file into the window instead of
/// through the `BufReader`'s buffer.
const WINDOW: usize = 4 * IO_BUF;
/// Buffers grow at most this much ahead of the data actually received, so that a garbage
/// length in a short stream cannot make the reader allocate the full declared size.
const GROW_STEP: usize = 1 << 20;

/// Reader limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Cap on the total length of metadata and `*_LARGE` event blocks.
    pub max_block_len: u64,
    /// Fail with [`ScapError::NoEvents`] at the end of a file without event blocks, as
    /// libscap does.
    pub require_events: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            max_block_len: 256 << 20,
            require_events: true,
        }
    }
}

/// One block of a scap file, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A section header. After the first, it starts a new section: consumers reset all
    /// thread, fd, user and interface state (the event numbering continues).
    SectionHeader(SectionHeader),
    /// Machine info.
    MachineInfo(MachineInfo),
    /// Threads present when the capture started.
    ProcessList(ProcessList<'a>),
    /// The fd table of one thread.
    FdTable(FdTable<'a>),
    /// Network interfaces.
    InterfaceList(InterfaceList<'a>),
    /// Users and groups.
    UserList(UserList<'a>),
    /// An event.
    Event(Event<'a>),
    /// A block of unknown type, skipped by length.
    Unknown {
        /// Its type id.
        block_type: BlockType,
        /// Its body (including padding).
        body: &'a [u8],
    },
}

enum Source<R: Read> {
    Plain(BufReader<R>),
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<R>>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct BlockMeta {
    block: BlockType,
    kind: BlockKind,
    offset: u64,
    body_len: usize,
}

/// A streaming reader of scap files (plain or gzip).
pub struct ScapReader<R: Read> {
    src: Source<R>,
    // INVARIANT: `start <= end <= buf.len()`; `buf[start..end]` is stream data not yet
    // handed out, and the block returned last is `buf[last_start..start]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    last_start: usize,
    offset: u64,
    opts: ReaderOptions,
    compressed: bool,
    blocks: u64,
    events: u64,
    sections: u64,
    last: Option<(BlockType, u64)>,
    done: bool,
}

impl ScapReader<File> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ScapError> {
        let f = File::open(path).map_err(|source| ScapError::Io { offset: 0, source })?;
        ScapReader::new(f)
    }
}

impl<R: Read> ScapReader<R> {
    /// Wraps a byte stream with default options.
    pub fn new(inner: R) -> Result<Self, ScapError> {
        Self::with_options(inner, ReaderOptions::default())
    }

    /// Wraps a byte stream. Gzip input (magic `1f 8b`) is decompressed transparently.
    pub fn with_options(inner: R, opts: ReaderOptions) -> Result<Self, ScapError> {
        let mut br = BufReader::with_capacity(IO_BUF, inner);
        let head = br
            .fill_buf()
            .map_err(|source| ScapError::Io { offset: 0, source })?;
        let compressed = head.starts_with(&[0x1f, 0x8b]);
        let src = if compressed {
            Source::Gzip(Box::new(BufReader::with_capacity(
                IO_BUF,
                MultiGzDecoder::new(br),
            )))
        } else {
            Source::Plain(br)
        };
        Ok(ScapReader {
            src,
            buf: Vec::new(),
            start: 0,
            end: 0,
            last_start: 0,
            offset: 0,
            opts,
            compressed,
            blocks: 0,
            events: 0,
            sections: 0,
            last: None,
            done: false,
        })
    }

    /// Whether the input was gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Offset of the next block in the decompressed stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Type and stream offset of the block returned last.
    pub fn last_block(&self) -> Option<(BlockType, u64)> {
        self.last
    }

    /// Number of event blocks read so far.
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// Number of sections (section headers) read so far.
    pub fn sections_read(&self) -> u64 {
        self.sections
    }

    /// Makes at least `n` unread bytes available at `buf[start..]`, reading as much as the
    /// window holds per call. The window grows no further ahead of the data received than
    /// `GROW_STEP`, so a garbage length in a short stream cannot make the reader allocate the
    /// declared size. Returns the number of unread bytes available (less than `n` only at the
    /// end of the stream).
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.start >= n {
            return Ok(self.end - self.start);
        }
        // Move the unread tail to the front: one short copy per window, not per block.
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        self.last_start = 0;
        if self.buf.len() < WINDOW {
            self.buf.resize(WINDOW, 0);
        }
        while self.end < n {
            if self.buf.len() < n && self.end == self.buf.len() {
                let grown = n.min(self.buf.len().saturating_add(GROW_STEP));
                self.buf.resize(grown, 0);
            }
            let Some(dst) = self.buf.get_mut(self.end..) else {
                break;
            };
            let got = loop {
                match self.src.read(dst) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            if got == 0 {
                break;
            }
            self.end += got;
        }
        Ok(self.end - self.start)
    }

    /// Reads the next block into the buffer and validates its framing.
    fn read_block(&mut self) -> Result<Option<BlockMeta>, ScapError> {
        if self.done {
            return Ok(None);
        }
        let offset = self.offset;
        let io_err = |source| ScapError::Io { offset, source };
        self.last_start = self.start;
        let got = self.fill(8).map_err(io_err)?.min(8);
        if got == 0 {
            self.done = true;
            if self.blocks == 0 {
                return Err(ScapError::Empty);
            }
            if self.opts.require_events && self.events == 0 {
                return Err(ScapError::NoEvents);
            }
            return Ok(None);
        }
        self.done = true;
        if got < 8 {
            return Err(ScapError::TruncatedHeader {
                offset,
                got: got as u64,
            });
        }
        let hdr = self.buf.get(self.start..self.end).unwrap_or_default();
        let block = BlockType(le_u32(hdr, 0).unwrap_or(0));
        let total = le_u32(hdr, 4).unwrap_or(0);
        let kind = check_header(block, total, offset, self.blocks == 0, &self.opts)?;
        let total_len = total as usize;
        let got = self.fill(total_len).map_err(io_err)?;
        if got < total_len {
            return Err(ScapError::Truncated {
                block,
                offset,
                needed: total.into(),
                got: got as u64,
            });
        }
        let body_len = total_len - 12;
        let trailer = le_u32(&self.buf, self.start + 8 + body_len).unwrap_or(0);
        check_trailer(kind, block, offset, total, trailer)?;
        self.last_start = self.start + 8;
        self.start += total_len;
        self.done = false;
        self.last = Some((block, offset));
        self.blocks += 1;
        self.offset += u64::from(total);
        Ok(Some(BlockMeta {
            block,
            kind,
            offset,
            body_len,
        }))
    }

    fn body(&self, meta: &BlockMeta) -> &[u8] {
        self.buf
            .get(self.last_start..self.last_start + meta.body_len)
            .unwrap_or_default()
    }

    /// Reads the next block as a typed record; `None` at the end of the stream.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ScapError> {
        let Some(meta) = self.read_block()? else {
            return Ok(None);
        };
        match meta.kind {
            BlockKind::Event { .. } => self.events += 1,
            BlockKind::Section => self.sections += 1,
            _ => {}
        }
        let body = self
            .buf
            .get(self.last_start..self.last_start + meta.body_len)
            .unwrap_or_default();
        let result = decode_block(&meta, body);
        if result.is_err() {
            self.done = true;
        }
        result.map(Some)
    }

    /// Reads the next event, skipping metadata blocks; `None` at the end of the stream.
    ///
    /// Metadata blocks are still validated. Use [`ScapReader::next_record`] to see them
    /// (and section boundaries).
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ScapError> {
        let meta = loop {
            let Some(meta) = self.read_block()? else {
                return Ok(None);
            };
            match meta.kind {
                BlockKind::Event { .. } => {
                    self.events += 1;
                    break meta;
                }
                BlockKind::Section => self.sections += 1,
                _ => {}
            }
            if let Err(e) = decode_block(&meta, self.body(&meta)) {
                self.done = true;
                return Err(e);
            }
        };
        let body = self
            .buf
            .get(self.last_start..self.last_start + meta.body_len)
            .unwrap_or_default();
        match decode_event(&meta, body) {
            Ok(ev) => Ok(Some(ev)),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Calls `f` for every event until the end of the stream or the first error.
    pub fn for_each_event(&mut self, mut f: impl FnMut(&Event<'_>)) -> Result<u64, ScapError> {
        let mut n = 0;
        while let Some(ev) = self.next_event()? {
            f(&ev);
            n += 1;
        }
        Ok(n)
    }
}

/// Validates a block header: the first block must be a section header, and the total
/// length must cover the block's minimum and stay within the applicable cap.
fn check_header(
    block: BlockType,
    total: u32,
    offset: u64,
    first: bool,
    opts: &ReaderOptions,
) -> Result<BlockKind, ScapError> {
    if first && block != BlockType::SHB {
        return Err(ScapError::NotScap { block });
    }
    let kind = block.kind();
    let min = if kind == BlockKind::Section { 28 } else { 12 };
    if total < min {
        return Err(ScapError::BadBlockLength {
            block,
            offset,
            length: total,
        });
    }
    let max = match kind {
        BlockKind::Event { large: false, .. } => MAX_EVENT_BLOCK_BODY + 8,
        _ => opts.max_block_len,
    };
    if u64::from(total) > max {
        return Err(ScapError::BlockTooLarge {
            block,
            offset,
            length: total.into(),
            max,
        });
    }
    Ok(kind)
}

/// libscap checks the trailing length copy of section and metadata blocks, not of events.
fn check_trailer(
    kind: BlockKind,
    block: BlockType,
    offset: u64,
    total: u32,
    trailer: u32,
) -> Result<(), ScapError> {
    if !matches!(kind, BlockKind::Event { .. }) && trailer != total {
        return Err(ScapError::TrailerMismatch {
            block,
            offset,
            length: total,
            trailer,
        });
    }
    Ok(())
}

/// A zero-copy reader over an uncompressed capture held in memory (or memory-mapped).
///
/// Records borrow from the input slice itself, so unlike [`ScapReader`] this is an ordinary
/// [`Iterator`] and events can be kept while reading on. It applies exactly the same checks.
#[derive(Debug, Clone)]
pub struct ScapSliceReader<'a> {
    data: &'a [u8],
    pos: usize,
    opts: ReaderOptions,
    blocks: u64,
    events: u64,
    last: Option<(BlockType, u64)>,
    done: bool,
}

impl<'a> ScapSliceReader<'a> {
    /// Reads `data` (uncompressed scap bytes) with default options.
    pub fn new(data: &'a [u8]) -> Self {
        Self::with_options(data, ReaderOptions::default())
    }

    /// Reads `data` with explicit options.
    pub fn with_options(data: &'a [u8], opts: ReaderOptions) -> Self {
        ScapSliceReader {
            data,
            pos: 0,
            opts,
            blocks: 0,
            events: 0,
            last: None,
            done: false,
        }
    }

    /// Offset of the next block.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// Type and offset of the block returned last.
    pub fn last_block(&self) -> Option<(BlockType, u64)> {
        self.last
    }

    fn read_block(&mut self) -> Result<Option<(BlockMeta, &'a [u8])>, ScapError> {
        if self.done {
            return Ok(None);
        }
        let offset = self.pos as u64;
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            if self.blocks == 0 {
                return Err(ScapError::Empty);
            }
            if self.opts.require_events && self.events == 0 {
                return Err(ScapError::NoEvents);
            }
            return Ok(None);
        }
        self.done = true;
        let (Some(raw_type), Some(total)) = (le_u32(rest, 0), le_u32(rest, 4)) else {
            return Err(ScapError::TruncatedHeader {
                offset,
                got: rest.len() as u64,
            });
        };
        let block = BlockType(raw_type);
        let kind = check_header(block, total, offset, self.blocks == 0, &self.opts)?;
        let Some(whole) = rest.get(..total as usize) else {
            return Err(ScapError::Truncated {
                block,
                offset,
                needed: total.into(),
                got: rest.len() as u64,
            });
        };
        let body_len = total as usize - 12;
        let trailer = le_u32(whole, body_len + 8).unwrap_or(0);
        check_trailer(kind, block, offset, total, trailer)?;
        let body = whole.get(8..8 + body_len).unwrap_or_default();
        self.done = false;
        self.pos += total as usize;
        self.blocks += 1;
        self.last = Some((block, offset));
        if matches!(kind, BlockKind::Event { .. }) {
            self.events += 1;
        }
        Ok(Some((
            BlockMeta {
                block,
                kind,
                offset,
                body_len,
            },
            body,
        )))
    }

    /// Reads the next record; `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record<'a>>, ScapError> {
        let Some((meta, body)) = self.read_block()? else {
            return Ok(None);
        };
        let r = decode_block(&meta, body);
        if r.is_err() {
            self.done = true;
        }
        r.map(Some)
    }

    /// Reads the next event, validating and skipping metadata blocks.
    pub fn next_event(&mut self) -> Result<Option<Event<'a>>, ScapError> {
        loop {
            match self.next_record()? {
                None => return Ok(None),
                Some(Record::Event(ev)) => return Ok(Some(ev)),
                Some(_) => {}
            }
        }
    }
}

impl<R: Read> EventSource for ScapReader<R> {
    type Error = ScapError;

    fn next_event(&mut self) -> Result<Option<Event<'_>>, ScapError> {
        ScapReader::next_event(self)
    }
}

impl EventSource for ScapSliceReader<'_> {
    type Error = ScapError;

    fn next_event(&mut self) -> Result<Option<Event<'_>>, ScapError> {
        ScapSliceReader::next_event(self)
    }
}

impl<'a> Iterator for ScapSliceReader<'a> {
    type Item = Result<Record<'a>, ScapError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

fn malformed(meta: &BlockMeta, e: EntryError) -> ScapError {
    ScapError::Malformed {
        block: meta.block,
        offset: meta.offset,
        position: meta.offset + 8 + e.at as u64,
        reason: e.reason,
    }
}

fn decode_event<'a>(meta: &BlockMeta, body: &'a [u8]) -> Result<Event<'a>, ScapError> {
    let BlockKind::Event { flags, v2, .. } = meta.kind else {
        return Err(ScapError::Malformed {
            block: meta.block,
            offset: meta.offset,
            position: meta.offset,
            reason: "not an event block",
        });
    };
    let mut c = Cursor::new(body);
    let short = ScapError::Malformed {
        block: meta.block,
        offset: meta.offset,
        position: meta.offset + 8,
        reason: "event block too short for its cpu/flags prefix",
    };
    let Some(cpu) = c.u16() else {
        return Err(short);
    };
    let dump_flags = if flags {
        match c.u32() {
            Some(f) => f,
            None => return Err(short),
        }
    } else {
        0
    };
    let rest = body.get(c.pos()..).unwrap_or_default();
    let parsed = if v2 {
        Event::parse_v2(cpu, dump_flags, rest)
    } else {
        Event::parse_v1(cpu, dump_flags, rest)
    };
    parsed
        .map(|(ev, _)| ev)
        .map_err(|source: EventError| ScapError::BadEvent {
            block: meta.block,
            offset: meta.offset,
            source,
        })
}

fn decode_block<'a>(meta: &BlockMeta, body: &'a [u8]) -> Result<Record<'a>, ScapError> {
    let m = |e| malformed(meta, e);
    Ok(match meta.kind {
        BlockKind::Event { .. } => Record::Event(decode_event(meta, body)?),
        BlockKind::Section => {
            let magic = le_u32(body, 0).unwrap_or(0);
            if magic != BYTE_ORDER_MAGIC {
                return Err(ScapError::BadMagic {
                    block: meta.block,
                    offset: meta.offset,
                    magic,
                });
            }
            let major = le_u16(body, 4).unwrap_or(0);
            if major > 1 {
                return Err(ScapError::UnsupportedVersion {
                    block: meta.block,
                    offset: meta.offset,
                    major,
                });
            }
            Record::SectionHeader(SectionHeader {
                major,
                minor: le_u16(body, 6).unwrap_or(0),
                // The length is signed on disk (−1 = unspecified); the cast reinterprets.
                section_length: le_u64(body, 8).map_or(-1, |v| v as i64),
                options_len: body.len().saturating_sub(16),
            })
        }
        BlockKind::MachineInfo => Record::MachineInfo(MachineInfo::parse(body).map_err(m)?),
        BlockKind::ProcessList(v) => Record::ProcessList(ProcessList::parse(v, body).map_err(m)?),
        BlockKind::FdList { v2 } => Record::FdTable(FdTable::parse(v2, body).map_err(m)?),
        BlockKind::InterfaceList { v2 } => {
            Record::InterfaceList(InterfaceList::parse(v2, body).map_err(m)?)
        }
        BlockKind::UserList { v2 } => Record::UserList(UserList::parse(v2, body).map_err(m)?),
        BlockKind::Unknown => Record::Unknown {
            block_type: meta.block,
            body,
        },
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    fn shb() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&BlockType::SHB.0.to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        v.extend_from_slice(&[1, 0, 2, 0]);
        v.extend_from_slice(&(-1i64).to_le_bytes());
        v.extend_from_slice(&28u32.to_le_bytes());
        v
    }

    /// A declared 200 MB process list in a 100-byte stream fails as truncated without the
    /// reader ever allocating more than one growth step.
    #[test]
    fn garbage_length_does_not_allocate_declared_size() {
        let mut data = shb();
        data.extend_from_slice(&BlockType::PL_V9.0.to_le_bytes());
        data.extend_from_slice(&200_000_000u32.to_le_bytes());
        data.extend_from_slice(&[0u8; 64]);
        let mut r = ScapReader::new(&data[..]).unwrap();
        assert!(matches!(
            r.next_record(),
            Ok(Some(Record::SectionHeader(_)))
        ));
        match r.next_record() {
            Err(ScapError::Truncated {
                offset: 28, got, ..
            }) => assert_eq!(got, 72),
            other => panic!("{other:?}"),
        }
        assert!(r.buf.capacity() <= 2 * GROW_STEP, "{}", r.buf.capacity());
        // Errors are sticky: the stream is not re-synchronised on garbage.
        assert!(matches!(r.next_record(), Ok(None)));
    }

    #[test]
    fn caps_apply() {
        let mut data = shb();
        data.extend_from_slice(&BlockType::EV_V2.0.to_le_bytes());
        data.extend_from_slice(&(65536u32 + 12).to_le_bytes());
        let mut r = ScapReader::new(&data[..]).unwrap();
        r.next_record().unwrap();
        assert!(matches!(
            r.next_record(),
            Err(ScapError::BlockTooLarge { offset: 28, max, .. }) if max == 65544
        ));
        let opts = ReaderOptions {
            max_block_len: 1000,
            ..ReaderOptions::default()
        };
        let mut data = shb();
        data.extend_from_slice(&BlockType::MI.0.to_le_bytes());
        data.extend_from_slice(&2000u32.to_le_bytes());
        let mut r = ScapSliceReader::with_options(&data, opts);
        r.next_record().unwrap();
        let e = r.next_record().unwrap_err();
        assert_eq!(
            e.to_string(),
            "MI (0x201) block at byte offset 28 has total length 2000, above the limit 1000"
        );
    }
}
