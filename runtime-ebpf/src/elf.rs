//! Turns maps and finished programs into an ELF relocatable object in the
//! shape aya 0.14 loads: a legacy `maps` section of 7×u32 `bpf_map_def`
//! records (one symbol each), one text section per program named by its
//! attach point, an `R_BPF_64_64` relocation on every `ld_imm64` map reference,
//! and a `license` section.
//!
//! Objects without functions carry no `.BTF`: the legacy `maps` section needs
//! none. Objects with functions (callbacks of `bpf_loop`, bpf-to-bpf calls)
//! put them in `.text` and add a minimal `.BTF` and `.BTF.ext`, because the
//! verifier insists on BTF function info for every subprogram whose address
//! is taken ("missing btf func_info").

use std::collections::{HashMap, HashSet};

use object::write::{Object, Relocation, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use thiserror::Error;

use crate::asm::{BpfProgram, FuncRefKind};

/// The map types Lanner's programs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapKind {
    Hash,
    Array,
    PerCpuArray,
    RingBuf,
}

impl MapKind {
    /// `enum bpf_map_type` value.
    pub const fn type_id(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array => 2,
            MapKind::PerCpuArray => 6,
            MapKind::RingBuf => 27,
        }
    }
}

/// One map declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    pub name: String,
    pub kind: MapKind,
    pub key_size: u32,
    pub value_size: u32,
    /// Entry count; for a ring buffer, its size in bytes.
    pub max_entries: u32,
    pub flags: u32,
}

impl MapDef {
    /// An array indexed by `u32`.
    pub fn array(name: &str, value_size: u32, max_entries: u32) -> Self {
        Self::new(name, MapKind::Array, 4, value_size, max_entries)
    }

    /// A per-CPU array indexed by `u32`.
    pub fn per_cpu_array(name: &str, value_size: u32, max_entries: u32) -> Self {
        Self::new(name, MapKind::PerCpuArray, 4, value_size, max_entries)
    }

    pub fn hash(name: &str, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        Self::new(name, MapKind::Hash, key_size, value_size, max_entries)
    }

    /// A ring buffer of `bytes` bytes (a power of two, a multiple of the page size).
    pub fn ring_buf(name: &str, bytes: u32) -> Self {
        Self::new(name, MapKind::RingBuf, 0, 0, bytes)
    }

    fn new(name: &str, kind: MapKind, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapDef {
            name: name.to_owned(),
            kind,
            key_size,
            value_size,
            max_entries,
            flags: 0,
        }
    }

    /// The legacy `struct bpf_map_def`: type, key size, value size, max
    /// entries, flags, id, pinning — seven little-endian u32s.
    fn legacy_def(&self) -> [u8; 28] {
        let words = [
            self.kind.type_id(),
            self.key_size,
            self.value_size,
            self.max_entries,
            self.flags,
            0,
            0,
        ];
        let mut out = [0u8; 28];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    fn validate(&self) -> Result<(), EmitError> {
        let bad = |reason: &str| {
            Err(EmitError::BadMap {
                map: self.name.clone(),
                reason: reason.to_owned(),
            })
        };
        if self.name.is_empty() || self.name.len() > 15 || !self.name.is_ascii() {
            return bad("map names must be 1 to 15 ASCII characters (the kernel keeps 15)");
        }
        match self.kind {
            MapKind::RingBuf => {
                if self.key_size != 0 || self.value_size != 0 {
                    return bad("a ring buffer has no key or value size");
                }
                if !self.max_entries.is_power_of_two() || self.max_entries < 4096 {
                    return bad(
                        "a ring buffer's size must be a power of two of at least 4096 bytes",
                    );
                }
            }
            MapKind::Array | MapKind::PerCpuArray => {
                if self.key_size != 4 {
                    return bad("array keys are u32");
                }
                if self.value_size == 0 || self.max_entries == 0 {
                    return bad("arrays need a value size and at least one entry");
                }
            }
            MapKind::Hash => {
                if self.key_size == 0 || self.value_size == 0 || self.max_entries == 0 {
                    return bad("hash maps need key and value sizes and at least one entry");
                }
            }
        }
        Ok(())
    }
}

/// Where a program attaches; this also names its ELF section, which is how
/// aya learns the program type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttachPoint {
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`: context is `u64 args[]`, pointers untyped.
    RawTracepoint { tracepoint: String },
    /// `BPF_PROG_TYPE_TRACING` / `BPF_TRACE_RAW_TP`: context is `u64 args[]`
    /// with BTF-typed pointers that can be dereferenced directly.
    TpBtf { tracepoint: String },
}

impl AttachPoint {
    pub fn raw_tracepoint(tracepoint: &str) -> Self {
        AttachPoint::RawTracepoint {
            tracepoint: tracepoint.to_owned(),
        }
    }

    pub fn tp_btf(tracepoint: &str) -> Self {
        AttachPoint::TpBtf {
            tracepoint: tracepoint.to_owned(),
        }
    }

    pub fn tracepoint(&self) -> &str {
        match self {
            AttachPoint::RawTracepoint { tracepoint } | AttachPoint::TpBtf { tracepoint } => {
                tracepoint
            }
        }
    }

    pub fn section_name(&self) -> String {
        match self {
            AttachPoint::RawTracepoint { tracepoint } => format!("raw_tracepoint/{tracepoint}"),
            AttachPoint::TpBtf { tracepoint } => format!("tp_btf/{tracepoint}"),
        }
    }
}

/// One program to emit: its function name (how aya and `bpftool` name it),
/// its attach point and its code.
#[derive(Clone, Debug)]
pub struct ProgramDef {
    pub name: String,
    pub attach: AttachPoint,
    pub program: BpfProgram,
}

#[derive(Debug, Error)]
pub enum EmitError {
    #[error("map `{map}` is declared twice")]
    DuplicateMap { map: String },
    #[error("map `{map}` is invalid: {reason}")]
    BadMap { map: String, reason: String },
    #[error("program name `{program}` is used twice")]
    DuplicateProgram { program: String },
    #[error("program `{program}` shares its attach section `{section}` with another program")]
    DuplicateSection { program: String, section: String },
    #[error("program name `{program}` must be 1 to 15 ASCII alphanumerics or underscores")]
    BadProgramName { program: String },
    #[error("program `{program}` references map `{map}`, which is not declared")]
    UnknownMap { program: String, map: String },
    #[error("`{program}` references function `{func}`, which is not declared")]
    UnknownFunction { program: String, func: String },
    #[error("function name `{func}` is used twice (or clashes with a program)")]
    DuplicateFunction { func: String },
    #[error("writing the ELF object failed: {source}")]
    Write {
        #[source]
        source: object::write::Error,
    },
}

/// An emitted object together with what the loader needs to know about it.
#[derive(Clone, Debug)]
pub struct EmittedObject {
    pub elf: Vec<u8>,
    pub maps: Vec<MapDef>,
    /// (program name, attach point), in emission order.
    pub programs: Vec<(String, AttachPoint)>,
}

/// Collects maps and programs for one object.
#[derive(Clone, Debug, Default)]
pub struct ObjectBuilder {
    maps: Vec<MapDef>,
    programs: Vec<ProgramDef>,
    /// Functions of the `.text` section: (name, code).
    functions: Vec<(String, BpfProgram)>,
}

impl ObjectBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn map(&mut self, def: MapDef) -> &mut Self {
        self.maps.push(def);
        self
    }

    pub fn program(&mut self, name: &str, attach: AttachPoint, program: BpfProgram) -> &mut Self {
        self.programs.push(ProgramDef {
            name: name.to_owned(),
            attach,
            program,
        });
        self
    }

    /// Adds a function to the `.text` section. Its BTF prototype is that of
    /// a `bpf_loop` callback, `long f(u64 index, void *ctx)`; the verifier
    /// checks static functions against their callers, not their prototype.
    pub fn function(&mut self, name: &str, program: BpfProgram) -> &mut Self {
        self.functions.push((name.to_owned(), program));
        self
    }

    /// Validates the declarations and writes the ELF object.
    pub fn emit(&self) -> Result<EmittedObject, EmitError> {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);

        let license = obj.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
        obj.append_section_data(license, b"GPL\0", 1);

        let mut map_syms: HashMap<&str, SymbolId> = HashMap::new();
        if !self.maps.is_empty() {
            let maps = obj.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data);
            for def in &self.maps {
                def.validate()?;
                if map_syms.contains_key(def.name.as_str()) {
                    return Err(EmitError::DuplicateMap {
                        map: def.name.clone(),
                    });
                }
                let bytes = def.legacy_def();
                let offset = obj.append_section_data(maps, &bytes, 4);
                let sym = obj.add_symbol(Symbol {
                    name: def.name.as_bytes().to_vec(),
                    value: offset,
                    size: bytes.len() as u64,
                    kind: SymbolKind::Data,
                    scope: SymbolScope::Dynamic,
                    weak: false,
                    section: SymbolSection::Section(maps),
                    flags: SymbolFlags::None,
                });
                map_syms.insert(def.name.as_str(), sym);
            }
        }

        // Functions go first so that programs can refer to their symbols.
        let mut func_syms: HashMap<&str, SymbolId> = HashMap::new();
        let mut func_offsets = Vec::new();
        let text = if self.functions.is_empty() {
            None
        } else {
            let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
            for (name, program) in &self.functions {
                let code = program.bytes();
                let offset = obj.append_section_data(text, &code, 8);
                func_offsets.push(offset);
                let sym = obj.add_symbol(Symbol {
                    name: name.as_bytes().to_vec(),
                    value: offset,
                    size: code.len() as u64,
                    kind: SymbolKind::Text,
                    scope: SymbolScope::Compilation,
                    weak: false,
                    section: SymbolSection::Section(text),
                    flags: SymbolFlags::None,
                });
                if func_syms.insert(name.as_str(), sym).is_some()
                    || self.programs.iter().any(|p| &p.name == name)
                {
                    return Err(EmitError::DuplicateFunction { func: name.clone() });
                }
            }
            Some(text)
        };

        let mut names = HashSet::new();
        let mut sections = HashSet::new();
        let mut section_names = Vec::new();
        for def in &self.programs {
            let valid_name = !def.name.is_empty()
                && def.name.len() <= 15
                && def
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid_name {
                return Err(EmitError::BadProgramName {
                    program: def.name.clone(),
                });
            }
            if !names.insert(def.name.as_str()) {
                return Err(EmitError::DuplicateProgram {
                    program: def.name.clone(),
                });
            }
            let section_name = def.attach.section_name();
            // aya names programs by their function symbol but indexes
            // sections by name; two programs in one section would need
            // symbol-offset handling this emitter deliberately avoids.
            if !sections.insert(section_name.clone()) {
                return Err(EmitError::DuplicateSection {
                    program: def.name.clone(),
                    section: section_name,
                });
            }
            let code = def.program.bytes();
            let section = obj.add_section(Vec::new(), section_name.into_bytes(), SectionKind::Text);
            obj.append_section_data(section, &code, 8);
            obj.add_symbol(Symbol {
                name: def.name.as_bytes().to_vec(),
                value: 0,
                size: code.len() as u64,
                kind: SymbolKind::Text,
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
            add_relocations(
                &mut obj,
                section,
                0,
                &def.name,
                &def.program,
                &map_syms,
                &func_syms,
            )?;
            section_names.push(def.attach.section_name());
        }
        if let Some(text) = text {
            for ((name, program), offset) in self.functions.iter().zip(&func_offsets) {
                add_relocations(
                    &mut obj, text, *offset, name, program, &map_syms, &func_syms,
                )?;
            }
            let (btf, btf_ext) = function_btf(
                &self.programs,
                &section_names,
                &self.functions,
                &func_offsets,
            );
            let btf_section = obj.add_section(Vec::new(), b".BTF".to_vec(), SectionKind::Metadata);
            obj.append_section_data(btf_section, &btf, 4);
            let ext_section =
                obj.add_section(Vec::new(), b".BTF.ext".to_vec(), SectionKind::Metadata);
            obj.append_section_data(ext_section, &btf_ext, 4);
        }

        let elf = obj.write().map_err(|source| EmitError::Write { source })?;
        Ok(EmittedObject {
            elf,
            maps: self.maps.clone(),
            programs: self
                .programs
                .iter()
                .map(|p| (p.name.clone(), p.attach.clone()))
                .collect(),
        })
    }
}

/// Adds the map and function relocations of `program`, whose code starts at
/// byte `base` of `section`.
fn add_relocations(
    obj: &mut Object<'_>,
    section: object::write::SectionId,
    base: u64,
    owner: &str,
    program: &BpfProgram,
    map_syms: &HashMap<&str, SymbolId>,
    func_syms: &HashMap<&str, SymbolId>,
) -> Result<(), EmitError> {
    let mut relocs = Vec::new();
    for map_ref in program.map_refs() {
        let symbol = *map_syms
            .get(map_ref.map.as_str())
            .ok_or_else(|| EmitError::UnknownMap {
                program: owner.to_owned(),
                map: map_ref.map.clone(),
            })?;
        relocs.push((map_ref.insn, symbol, object::elf::R_BPF_64_64));
    }
    for func_ref in program.func_refs() {
        let symbol =
            *func_syms
                .get(func_ref.func.as_str())
                .ok_or_else(|| EmitError::UnknownFunction {
                    program: owner.to_owned(),
                    func: func_ref.func.clone(),
                })?;
        let r_type = match func_ref.kind {
            FuncRefKind::Address => object::elf::R_BPF_64_64,
            FuncRefKind::Call => object::elf::R_BPF_64_32,
        };
        relocs.push((func_ref.insn, symbol, r_type));
    }
    for (insn, symbol, r_type) in relocs {
        obj.add_relocation(
            section,
            Relocation {
                offset: base + insn as u64 * 8,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf { r_type },
            },
        )
        .map_err(|source| EmitError::Write { source })?;
    }
    Ok(())
}

/// Minimal BTF for an object with functions: one `FUNC` per program (global,
/// `int f(void *ctx)`) and per function (static, `long f(long index, void
/// *ctx)`), and the `.BTF.ext` function info that places them.
fn function_btf(
    programs: &[ProgramDef],
    section_names: &[String],
    functions: &[(String, BpfProgram)],
    func_offsets: &[u64],
) -> (Vec<u8>, Vec<u8>) {
    const KIND_INT: u32 = 1;
    const KIND_PTR: u32 = 2;
    const KIND_FUNC: u32 = 12;
    const KIND_FUNC_PROTO: u32 = 13;
    const INT_SIGNED: u32 = 1 << 24;
    const LINKAGE_STATIC: u32 = 0;
    const LINKAGE_GLOBAL: u32 = 1;

    let mut strings: Vec<u8> = vec![0];
    let mut string = |s: &str| -> u32 {
        // INVARIANT: BTF string tables stay far below 4 GiB.
        let off = u32::try_from(strings.len()).unwrap_or(u32::MAX);
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        off
    };
    let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
    let mut types: Vec<u32> = Vec::new();
    // [1] int, [2] long, [3] void *.
    types.extend([string("int"), info(KIND_INT, 0), 4, INT_SIGNED | 32]);
    types.extend([string("long"), info(KIND_INT, 0), 8, INT_SIGNED | 64]);
    types.extend([0, info(KIND_PTR, 0), 0]);
    // [4] int (void *ctx): programs.
    types.extend([0, info(KIND_FUNC_PROTO, 1), 1, string("ctx"), 3]);
    // [5] long (long index, void *ctx): functions.
    types.extend([
        0,
        info(KIND_FUNC_PROTO, 2),
        2,
        string("index"),
        2,
        string("ctx"),
        3,
    ]);
    let mut next_id = 6u32;
    let mut program_ids = Vec::new();
    for def in programs {
        types.extend([string(&def.name), info(KIND_FUNC, LINKAGE_GLOBAL), 4]);
        program_ids.push(next_id);
        next_id += 1;
    }
    let mut function_ids = Vec::new();
    for (name, _) in functions {
        types.extend([string(name), info(KIND_FUNC, LINKAGE_STATIC), 5]);
        function_ids.push(next_id);
        next_id += 1;
    }

    // .BTF.ext function info: record size, then per section its name, its
    // record count and records of (byte offset, FUNC type id).
    let mut func_info: Vec<u32> = vec![8];
    for (section, id) in section_names.iter().zip(&program_ids) {
        func_info.extend([string(section), 1, 0, *id]);
    }
    let text_name = string(".text");
    // INVARIANT: an object has far fewer than 2^32 functions and text bytes.
    let count = u32::try_from(functions.len()).unwrap_or(u32::MAX);
    func_info.extend([text_name, count]);
    for (offset, id) in func_offsets.iter().zip(&function_ids) {
        func_info.extend([u32::try_from(*offset).unwrap_or(u32::MAX), *id]);
    }

    let type_bytes: Vec<u8> = types.iter().flat_map(|w| w.to_le_bytes()).collect();
    let len = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX);
    let mut btf = Vec::new();
    btf.extend(0xeb9f_u16.to_le_bytes());
    btf.extend([1, 0]);
    for word in [24, 0, len(&type_bytes), len(&type_bytes), len(&strings)] {
        btf.extend(u32::to_le_bytes(word));
    }
    btf.extend(type_bytes);
    btf.extend(&strings);

    let info_bytes: Vec<u8> = func_info.iter().flat_map(|w| w.to_le_bytes()).collect();
    let info_len = len(&info_bytes);
    let mut ext = Vec::new();
    ext.extend(0xeb9f_u16.to_le_bytes());
    ext.extend([1, 0]);
    // hdr_len, func_info off/len, line_info off/len, core_relo off/len.
    for word in [32, 0, info_len, info_len, 0, info_len, 0] {
        ext.extend(u32::to_le_bytes(word));
    }
    ext.extend(info_bytes);
    (btf, ext)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

    use super::*;
    use crate::asm::ProgramBuilder;
    use crate::insn::Reg;

    fn prog() -> BpfProgram {
        let mut b = ProgramBuilder::new();
        b.ld_map(Reg::R1, "events")
            .mov64_imm(Reg::R2, 0)
            .ld_map(Reg::R3, "drops")
            .ret(0);
        b.finish().unwrap()
    }

    #[test]
    fn emits_sections_symbols_and_relocations() {
        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::ring_buf("events", 1 << 16))
            .map(MapDef::per_cpu_array("drops", 8, 1))
            .program("on_exit", AttachPoint::tp_btf("sys_exit"), prog());
        let emitted = ob.emit().unwrap();
        let file = object::File::parse(&*emitted.elf).unwrap();
        assert_eq!(file.architecture(), Architecture::Bpf);

        let maps = file.section_by_name("maps").unwrap();
        let data = maps.data().unwrap();
        assert_eq!(data.len(), 56);
        let word = |i: usize| u32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(
            (0..7).map(word).collect::<Vec<_>>(),
            [27, 0, 0, 1 << 16, 0, 0, 0]
        );
        assert_eq!((7..14).map(word).collect::<Vec<_>>(), [6, 4, 8, 1, 0, 0, 0]);

        let license = file.section_by_name("license").unwrap();
        assert_eq!(license.data().unwrap(), b"GPL\0");

        let text = file.section_by_name("tp_btf/sys_exit").unwrap();
        assert_eq!(text.data().unwrap(), prog().bytes().as_slice());
        let relocs: Vec<_> = text
            .relocations()
            .map(|(off, r)| {
                let object::RelocationTarget::Symbol(sym) = r.target() else {
                    panic!("relocation without symbol")
                };
                let name = file
                    .symbol_by_index(sym)
                    .unwrap()
                    .name()
                    .unwrap()
                    .to_owned();
                let object::RelocationFlags::Elf { r_type } = r.flags() else {
                    panic!("not an ELF relocation")
                };
                (off, name, r_type)
            })
            .collect();
        assert_eq!(
            relocs,
            [
                (0, "events".to_owned(), object::elf::R_BPF_64_64),
                (24, "drops".to_owned(), object::elf::R_BPF_64_64)
            ]
        );
        let func = file.symbol_by_name("on_exit").unwrap();
        assert_eq!(func.size(), prog().bytes().len() as u64);
        assert_eq!(
            emitted.programs,
            [("on_exit".to_owned(), AttachPoint::tp_btf("sys_exit"))]
        );
    }

    #[test]
    fn functions_go_to_text_with_btf_func_info() {
        let mut main = ProgramBuilder::new();
        main.ld_func(Reg::R2, "cb").call_func("cb").ret(0);
        let mut cb = ProgramBuilder::new();
        cb.ld_map(Reg::R1, "events").ret(0);
        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::ring_buf("events", 1 << 16))
            .function("cb", cb.finish().unwrap())
            .program(
                "main",
                AttachPoint::raw_tracepoint("sys_exit"),
                main.finish().unwrap(),
            );
        let emitted = ob.emit().unwrap();
        let file = object::File::parse(&*emitted.elf).unwrap();

        let reloc_types = |section: &str| -> Vec<(u64, object::elf::RelocationType)> {
            file.section_by_name(section)
                .unwrap()
                .relocations()
                .map(|(off, r)| match r.flags() {
                    object::RelocationFlags::Elf { r_type } => (off, r_type),
                    _ => panic!("not an ELF relocation"),
                })
                .collect()
        };
        assert_eq!(
            reloc_types("raw_tracepoint/sys_exit"),
            [
                (0, object::elf::R_BPF_64_64),
                (16, object::elf::R_BPF_64_32)
            ]
        );
        assert_eq!(reloc_types(".text"), [(0, object::elf::R_BPF_64_64)]);

        // Types: int, long, void *, two prototypes, then FUNC main and cb.
        let btf = file.section_by_name(".BTF").unwrap().data().unwrap();
        assert_eq!(crate::btf::Btf::parse(btf).unwrap().type_count(), 8);
        let ext = file.section_by_name(".BTF.ext").unwrap().data().unwrap();
        let word = |i: usize| u32::from_le_bytes(ext[i * 4..i * 4 + 4].try_into().unwrap());
        // Header (8 words), rec_size 8, then the program section (one record:
        // offset 0, type 6) and .text (one record: offset 0, type 7).
        assert_eq!(word(8), 8);
        assert_eq!((word(10), word(11), word(12)), (1, 0, 6));
        assert_eq!((word(14), word(15), word(16)), (1, 0, 7));
    }

    #[test]
    fn rejects_unknown_and_duplicate_functions() {
        let mut main = ProgramBuilder::new();
        main.call_func("nope").ret(0);
        let main = main.finish().unwrap();
        let mut ob = ObjectBuilder::new();
        ob.program("p", AttachPoint::raw_tracepoint("sys_exit"), main.clone());
        assert!(matches!(
            ob.emit(),
            Err(EmitError::UnknownFunction { ref func, .. }) if func == "nope"
        ));
        let mut ob = ObjectBuilder::new();
        ob.function("p", main.clone())
            .program("p", AttachPoint::raw_tracepoint("sys_exit"), main);
        assert!(matches!(
            ob.emit(),
            Err(EmitError::DuplicateFunction { .. })
        ));
    }

    #[test]
    fn rejects_bad_declarations() {
        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::ring_buf("events", 1 << 16)).program(
            "p",
            AttachPoint::raw_tracepoint("sys_exit"),
            prog(),
        );
        assert!(matches!(
            ob.emit(),
            Err(EmitError::UnknownMap { ref program, ref map }) if program == "p" && map == "drops"
        ));

        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::ring_buf("events", 1000));
        assert!(matches!(ob.emit(), Err(EmitError::BadMap { .. })));

        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::array("a", 4, 1))
            .map(MapDef::array("a", 4, 1));
        assert!(matches!(ob.emit(), Err(EmitError::DuplicateMap { .. })));

        let mut ob = ObjectBuilder::new();
        ob.map(MapDef::ring_buf("events", 1 << 16))
            .map(MapDef::per_cpu_array("drops", 8, 1))
            .program("a", AttachPoint::tp_btf("sys_exit"), prog())
            .program("b", AttachPoint::tp_btf("sys_exit"), prog());
        assert!(matches!(ob.emit(), Err(EmitError::DuplicateSection { .. })));

        let mut ob = ObjectBuilder::new();
        ob.program("has-dash", AttachPoint::tp_btf("x"), prog());
        assert!(matches!(ob.emit(), Err(EmitError::BadProgramName { .. })));
    }
}
