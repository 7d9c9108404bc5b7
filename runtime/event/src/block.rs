//! Block type ids (FORMAT.md §2) and errors of the scap reader.

use std::fmt;
use std::io;

use crate::event::EventError;

/// A scap block type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockType(pub u32);

/// What a block type holds and in which layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Section header.
    Section,
    /// Machine info.
    MachineInfo,
    /// Process list of layout version 1–9.
    ProcessList(u8),
    /// Fd list (`v2`: per-entry lengths).
    FdList {
        /// FDL_V2 layout.
        v2: bool,
    },
    /// Interface list.
    InterfaceList {
        /// IL_V2 layout.
        v2: bool,
    },
    /// User/group list.
    UserList {
        /// UL_V2 layout.
        v2: bool,
    },
    /// An event block.
    Event {
        /// The block carries `dump_flags` (EVF*).
        flags: bool,
        /// The event has a v2 header (with `nparams`).
        v2: bool,
        /// The block may exceed 64 KiB (`*_LARGE`).
        large: bool,
    },
    /// A block type this reader does not know; skipped by length.
    Unknown,
}

impl BlockType {
    /// Section header block.
    pub const SHB: BlockType = BlockType(0x0A0D_0D0A);
    /// Machine info.
    pub const MI: BlockType = BlockType(0x201);
    /// Process list V9.
    pub const PL_V9: BlockType = BlockType(0x215);
    /// Fd list V2.
    pub const FDL_V2: BlockType = BlockType(0x218);
    /// Event block V2.
    pub const EV_V2: BlockType = BlockType(0x216);
    /// Event block V2 with flags.
    pub const EVF_V2: BlockType = BlockType(0x217);
    /// Large event block V2.
    pub const EV_V2_LARGE: BlockType = BlockType(0x221);
    /// Large event block V2 with flags.
    pub const EVF_V2_LARGE: BlockType = BlockType(0x222);
    /// Interface list V2.
    pub const IL_V2: BlockType = BlockType(0x219);
    /// User list V2.
    pub const UL_V2: BlockType = BlockType(0x220);

    const TABLE: &'static [(u32, &'static str, BlockKind)] = &[
        (0x0A0D_0D0A, "SHB", BlockKind::Section),
        (0x201, "MI", BlockKind::MachineInfo),
        (0x8002_ABCD, "MI_INT", BlockKind::MachineInfo),
        (0x202, "PL_V1", BlockKind::ProcessList(1)),
        (0x8000_ABCD, "PL_V1_INT", BlockKind::ProcessList(1)),
        (0x207, "PL_V2", BlockKind::ProcessList(2)),
        (0x8013_ABCD, "PL_V2_INT", BlockKind::ProcessList(2)),
        (0x209, "PL_V3", BlockKind::ProcessList(3)),
        (0x8014_ABCD, "PL_V3_INT", BlockKind::ProcessList(3)),
        (0x210, "PL_V4", BlockKind::ProcessList(4)),
        (0x211, "PL_V5", BlockKind::ProcessList(5)),
        (0x212, "PL_V6", BlockKind::ProcessList(6)),
        (0x213, "PL_V7", BlockKind::ProcessList(7)),
        (0x214, "PL_V8", BlockKind::ProcessList(8)),
        (0x215, "PL_V9", BlockKind::ProcessList(9)),
        (0x203, "FDL", BlockKind::FdList { v2: false }),
        (0x8001_ABCD, "FDL_INT", BlockKind::FdList { v2: false }),
        (0x218, "FDL_V2", BlockKind::FdList { v2: true }),
        (0x205, "IL", BlockKind::InterfaceList { v2: false }),
        (
            0x8011_ABCD,
            "IL_INT",
            BlockKind::InterfaceList { v2: false },
        ),
        (0x219, "IL_V2", BlockKind::InterfaceList { v2: true }),
        (0x206, "UL", BlockKind::UserList { v2: false }),
        (0x8012_ABCD, "UL_INT", BlockKind::UserList { v2: false }),
        (0x220, "UL_V2", BlockKind::UserList { v2: true }),
        (
            0x204,
            "EV",
            BlockKind::Event {
                flags: false,
                v2: false,
                large: false,
            },
        ),
        (
            0x8010_ABCD,
            "EV_INT",
            BlockKind::Event {
                flags: false,
                v2: false,
                large: false,
            },
        ),
        (
            0x208,
            "EVF",
            BlockKind::Event {
                flags: true,
                v2: false,
                large: false,
            },
        ),
        (
            0x216,
            "EV_V2",
            BlockKind::Event {
                flags: false,
                v2: true,
                large: false,
            },
        ),
        (
            0x217,
            "EVF_V2",
            BlockKind::Event {
                flags: true,
                v2: true,
                large: false,
            },
        ),
        (
            0x221,
            "EV_V2_LARGE",
            BlockKind::Event {
                flags: false,
                v2: true,
                large: true,
            },
        ),
        (
            0x222,
            "EVF_V2_LARGE",
            BlockKind::Event {
                flags: true,
                v2: true,
                large: true,
            },
        ),
    ];

    fn entry(self) -> Option<&'static (u32, &'static str, BlockKind)> {
        Self::TABLE.iter().find(|(id, _, _)| *id == self.0)
    }

    /// The block's kind and layout.
    pub fn kind(self) -> BlockKind {
        // The event block types are checked first: they are the overwhelming majority.
        match self.0 {
            0x216 => BlockKind::Event {
                flags: false,
                v2: true,
                large: false,
            },
            0x204 => BlockKind::Event {
                flags: false,
                v2: false,
                large: false,
            },
            _ => self.entry().map_or(BlockKind::Unknown, |e| e.2),
        }
    }

    /// The FORMAT.md name of the block type (`PL_V9`, `EV_V2`, …) or `UNKNOWN`.
    pub fn name(self) -> &'static str {
        self.entry().map_or("UNKNOWN", |e| e.1)
    }
}

impl fmt::Display for BlockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#x})", self.name(), self.0)
    }
}

/// Errors of the scap reader. Every variant that concerns file contents names the block type
/// and the byte offset of the block in the (decompressed) stream.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    /// Reading the underlying stream failed (including corrupt gzip data).
    #[error("I/O error at byte offset {offset}: {source}")]
    Io {
        /// Stream offset of the block being read.
        offset: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The input is empty.
    #[error("empty input: not a scap file")]
    Empty,
    /// The first block is not a section header.
    #[error("not a scap file: first block is {block}, expected a section header")]
    NotScap {
        /// The block type found.
        block: BlockType,
    },
    /// The stream ends inside a block header (1–7 trailing bytes).
    #[error("truncated block header at byte offset {offset}: {got} of 8 bytes")]
    TruncatedHeader {
        /// Stream offset of the partial header.
        offset: u64,
        /// Bytes present.
        got: u64,
    },
    /// The stream ends inside a block.
    #[error("{block} block at byte offset {offset} is truncated: {got} of {needed} bytes")]
    Truncated {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// The block's total length.
        needed: u64,
        /// Bytes present.
        got: u64,
    },
    /// A block length shorter than the minimum for its type.
    #[error("{block} block at byte offset {offset} has invalid total length {length}")]
    BadBlockLength {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// Declared total length.
        length: u32,
    },
    /// A block length above the reader's cap.
    #[error(
        "{block} block at byte offset {offset} has total length {length}, above the limit {max}"
    )]
    BlockTooLarge {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// Declared total length.
        length: u64,
        /// The applicable limit.
        max: u64,
    },
    /// The trailing copy of the block length differs (checked for non-event blocks).
    #[error(
        "{block} block at byte offset {offset}: trailer {trailer} differs from total length {length}"
    )]
    TrailerMismatch {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// Declared total length.
        length: u32,
        /// Trailer value.
        trailer: u32,
    },
    /// The section header's byte-order magic is wrong (big-endian files are not accepted).
    #[error("{block} block at byte offset {offset}: invalid byte-order magic {magic:#010x}")]
    BadMagic {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// The magic found.
        magic: u32,
    },
    /// The section header's major version is newer than this reader.
    #[error("{block} block at byte offset {offset}: unsupported major version {major}")]
    UnsupportedVersion {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// Major version found.
        major: u16,
    },
    /// A metadata block whose contents do not parse.
    #[error("{block} block at byte offset {offset}: malformed at byte offset {position}: {reason}")]
    Malformed {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// Stream offset of the faulty entry or field.
        position: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// An event block whose event does not parse.
    #[error("{block} block at byte offset {offset}: {source}")]
    BadEvent {
        /// Block type.
        block: BlockType,
        /// Stream offset of the block.
        offset: u64,
        /// The event error.
        #[source]
        source: EventError,
    },
    /// The file has a section header but no event block (libscap rejects such files).
    #[error("no event blocks in the file")]
    NoEvents,
}
