//! The vocabulary of the schema: field types, argument rules, flags, classes and providers.
//!
//! Every enum here has a stable textual spelling (`as_str`) because the listings, the JSON
//! output of `rulec fields` and the language server all show these names to users, and the
//! spellings follow Falco's so that people can cross-reference Falco documentation.

use std::fmt;
use std::str::FromStr;

/// Declares a fieldless enum together with its canonical spelling and a parser for it, so that
/// the two directions can never drift apart.
macro_rules! spelled_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName { kind: stringify!($name), name: s.to_owned() }),
                }
            }
        }
    };
}

/// Returned when a spelling does not name any variant of a schema enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{name}' is not a known {kind}")]
pub struct UnknownName {
    /// Which enum was being parsed.
    pub kind: &'static str,
    /// The text that did not match.
    pub name: String,
}

spelled_enum! {
    /// The value type of a field, using libsinsp's parameter type names.
    ///
    /// fields.json only uses a subset, but event parameters reached through `evt.rawarg.NAME`
    /// can have any of these types, so the type checker needs the full set.
    pub enum FieldType {
        Int8 => "INT8",
        Int16 => "INT16",
        Int32 => "INT32",
        Int64 => "INT64",
        Uint8 => "UINT8",
        Uint16 => "UINT16",
        Uint32 => "UINT32",
        Uint64 => "UINT64",
        Errno => "ERRNO",
        Fd => "FD",
        Pid => "PID",
        SyscallId => "SYSCALLID",
        SigType => "SIGTYPE",
        RelTime => "RELTIME",
        AbsTime => "ABSTIME",
        Port => "PORT",
        Flags8 => "FLAGS8",
        Flags16 => "FLAGS16",
        Flags32 => "FLAGS32",
        EnumFlags8 => "ENUMFLAGS8",
        EnumFlags16 => "ENUMFLAGS16",
        EnumFlags32 => "ENUMFLAGS32",
        Mode => "MODE",
        Uid => "UID",
        Gid => "GID",
        Double => "DOUBLE",
        Bool => "BOOL",
        Ipv4Addr => "IPV4ADDR",
        Ipv6Addr => "IPV6ADDR",
        IpAddr => "IPADDR",
        Ipv4Net => "IPV4NET",
        Ipv6Net => "IPV6NET",
        IpNet => "IPNET",
        Charbuf => "CHARBUF",
        FsPath => "FSPATH",
        FsRelPath => "FSRELPATH",
        Bytebuf => "BYTEBUF",
        SockAddr => "SOCKADDR",
        SockTuple => "SOCKTUPLE",
        FdList => "FDLIST",
        SigSet => "SIGSET",
        CharbufArray => "CHARBUFARRAY",
        CharbufPairArray => "CHARBUF_PAIR_ARRAY",
        /// A type only known once the argument is resolved (`evt.rawarg.NAME`).
        Dyn => "DYN",
    }
}

/// The operator families of language.md §3.1; a type's family decides which operators it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeCategory {
    /// Integers, times, ports, flags, modes and DOUBLE.
    Numeric,
    /// BOOL.
    Bool,
    /// IP addresses and networks.
    Ip,
    /// CHARBUF, FSPATH and FSRELPATH.
    String,
    /// BYTEBUF.
    Buffer,
    /// Everything else, including DYN before resolution: only `exists` applies.
    Other,
}

impl FieldType {
    /// The operator family of this type.
    pub const fn category(self) -> TypeCategory {
        use FieldType::*;
        match self {
            Int8 | Int16 | Int32 | Int64 | Uint8 | Uint16 | Uint32 | Uint64 | Errno | Fd | Pid
            | SyscallId | SigType | RelTime | AbsTime | Port | Flags8 | Flags16 | Flags32
            | EnumFlags8 | EnumFlags16 | EnumFlags32 | Mode | Double => TypeCategory::Numeric,
            Bool => TypeCategory::Bool,
            Ipv4Addr | Ipv6Addr | IpAddr | Ipv4Net | Ipv6Net | IpNet => TypeCategory::Ip,
            Charbuf | FsPath | FsRelPath => TypeCategory::String,
            Bytebuf => TypeCategory::Buffer,
            Uid | Gid | SockAddr | SockTuple | FdList | SigSet | CharbufArray
            | CharbufPairArray | Dyn => TypeCategory::Other,
        }
    }

    /// True for the string-like types (CHARBUF, FSPATH, FSRELPATH).
    pub const fn is_string(self) -> bool {
        matches!(self.category(), TypeCategory::String)
    }

    /// True for the IP network types, which compare by CIDR containment.
    pub const fn is_ip_network(self) -> bool {
        matches!(
            self,
            FieldType::Ipv4Net | FieldType::Ipv6Net | FieldType::IpNet
        )
    }
}

/// A value type as seen by the type checker: the base type plus list-ness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ValueType {
    /// The element type.
    pub ty: FieldType,
    /// Whether the value is a list of `ty` (an IS_LIST field or a list-producing transformer).
    pub is_list: bool,
}

impl ValueType {
    /// A single value of type `ty`.
    pub const fn single(ty: FieldType) -> Self {
        ValueType { ty, is_list: false }
    }

    /// A list of values of type `ty`.
    pub const fn list(ty: FieldType) -> Self {
        ValueType { ty, is_list: true }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_list {
            write!(f, "LIST({})", self.ty)
        } else {
            f.write_str(self.ty.as_str())
        }
    }
}

spelled_enum! {
    /// Whether a field takes an argument.
    pub enum ArgPresence {
        /// The field never takes an argument.
        None => "none",
        /// The field is unusable without an argument.
        Required => "required",
        /// The argument narrows the field, and the bare form has its own meaning.
        Optional => "optional",
    }
}

spelled_enum! {
    /// How a field's argument is written and what it means (language.md §4.2).
    pub enum ArgForm {
        /// No argument.
        None => "none",
        /// A decimal index in brackets: `proc.aname[2]`, `proc.args[0]`, `fd.types[3]`.
        Index => "index",
        /// A free-form key in brackets: `container.label[app]`, `proc.aenv[HOME]`.
        Key => "key",
        /// A bracketed key that may also follow a dot: `k8s.pod.label[app]` or `k8s.pod.label.app`.
        KeyOrSuffix => "key_or_suffix",
        /// A bracketed index (all digits) or key: `container.mount.dest[0]`, `proc.env[HOME]`.
        IndexOrKey => "index_or_key",
        /// An event parameter by position or by name: `evt.arg[0]` or `evt.arg.fd`.
        IndexOrParam => "index_or_param",
        /// An event parameter by name only, dot form: `evt.rawarg.res`.
        Param => "param",
        /// An event name or number after a dot: `evt.type.is.open`, `evt.type.is.3`.
        EventType => "event_type",
        /// A cgroup subsystem after a dot (letters and `_`): `thread.cgroup.cpuacct`.
        Subsystem => "subsystem",
        /// `.src` or `.dst` after the field: `evt.abspath.dst`.
        PathSide => "path_side",
        /// A timestamp in nanoseconds in brackets: `evt.around[1404996934793590564]`.
        Timestamp => "timestamp",
    }
}

/// The argument rule of a field: whether it takes one and in which shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgSpec {
    /// Whether the argument is required, optional or forbidden.
    pub presence: ArgPresence,
    /// How it is written.
    pub form: ArgForm,
}

impl ArgSpec {
    /// The rule of fields that take no argument.
    pub const NONE: ArgSpec = ArgSpec {
        presence: ArgPresence::None,
        form: ArgForm::None,
    };

    /// True if the field accepts an argument at all.
    pub const fn allowed(self) -> bool {
        !matches!(self.presence, ArgPresence::None)
    }

    /// True if the field cannot be used without an argument.
    pub const fn required(self) -> bool {
        matches!(self.presence, ArgPresence::Required)
    }

    /// How the argument is written, as shown in listings (`[N]`, `.NAME`, ...); empty if none.
    /// Alternative spellings (`k8s.pod.label.KEY`, `evt.type.is.NUM`) are left to the
    /// description to keep listing columns short.
    pub const fn syntax(self) -> &'static str {
        match self.form {
            ArgForm::None => "",
            ArgForm::Index => "[N]",
            ArgForm::Key => "[KEY]",
            ArgForm::KeyOrSuffix => "[KEY]",
            ArgForm::IndexOrKey => "[N|KEY]",
            ArgForm::IndexOrParam => "[N]|.NAME",
            ArgForm::Param => ".NAME",
            ArgForm::EventType => ".NAME",
            ArgForm::Subsystem => ".SUBSYS",
            ArgForm::PathSide => ".src|.dst",
            ArgForm::Timestamp => "[TS]",
        }
    }

    /// True if the argument is written after a dot rather than (or as well as) in brackets.
    pub const fn accepts_dot(self) -> bool {
        matches!(
            self.form,
            ArgForm::KeyOrSuffix
                | ArgForm::IndexOrParam
                | ArgForm::Param
                | ArgForm::EventType
                | ArgForm::Subsystem
                | ArgForm::PathSide
        )
    }

    /// True if the argument may be written in brackets.
    pub const fn accepts_brackets(self) -> bool {
        matches!(
            self.form,
            ArgForm::Index
                | ArgForm::Key
                | ArgForm::KeyOrSuffix
                | ArgForm::IndexOrKey
                | ArgForm::IndexOrParam
                | ArgForm::Timestamp
        )
    }
}

/// Field flags, mirroring libsinsp's `EPF_*` bits plus the class-level "hidden" marker.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldFlags(u16);

impl FieldFlags {
    /// No flags.
    pub const EMPTY: FieldFlags = FieldFlags(0);
    /// Usable in conditions only, not in outputs.
    pub const FILTER_ONLY: FieldFlags = FieldFlags(1);
    /// Usable in outputs only, not in conditions.
    pub const PRINT_ONLY: FieldFlags = FieldFlags(1 << 1);
    /// Meant for table views of capture tools; Falco listings normally omit these.
    pub const TABLE_ONLY: FieldFlags = FieldFlags(1 << 2);
    /// The field yields a list of values.
    pub const IS_LIST: FieldFlags = FieldFlags(1 << 3);
    /// The field is deprecated.
    pub const DEPRECATED: FieldFlags = FieldFlags(1 << 4);
    /// The field cannot take part in a field-to-field comparison on either side.
    pub const NO_RHS: FieldFlags = FieldFlags(1 << 5);
    /// Transformers cannot be applied to the field.
    pub const NO_TRANSFORMER: FieldFlags = FieldFlags(1 << 6);
    /// The extracted value may be invalidated by the next extraction (an interpreter concern).
    pub const NO_PTR_STABILITY: FieldFlags = FieldFlags(1 << 7);
    /// A plugin suggests adding this field to every rule output.
    pub const FORMAT_SUGGESTED: FieldFlags = FieldFlags(1 << 8);
    /// The field's class is hidden from listings by Falco (internal helpers).
    pub const HIDDEN: FieldFlags = FieldFlags(1 << 9);

    /// Every flag with its canonical name, in the order listings print them.
    pub const NAMED: &'static [(FieldFlags, &'static str)] = &[
        (FieldFlags::FILTER_ONLY, "FILTER_ONLY"),
        (FieldFlags::PRINT_ONLY, "PRINT_ONLY"),
        (FieldFlags::TABLE_ONLY, "TABLE_ONLY"),
        (FieldFlags::IS_LIST, "IS_LIST"),
        (FieldFlags::DEPRECATED, "DEPRECATED"),
        (FieldFlags::NO_RHS, "NO_RHS"),
        (FieldFlags::NO_TRANSFORMER, "NO_TRANSFORMER"),
        (FieldFlags::NO_PTR_STABILITY, "NO_PTR_STABILITY"),
        (FieldFlags::FORMAT_SUGGESTED, "FORMAT_SUGGESTED"),
        (FieldFlags::HIDDEN, "HIDDEN"),
    ];

    /// The raw bits, for compact storage.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Rebuilds flags from raw bits; unknown bits are kept as they are.
    pub const fn from_bits(bits: u16) -> Self {
        FieldFlags(bits)
    }

    /// True if every flag of `other` is set in `self`.
    pub const fn contains(self, other: FieldFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets.
    pub const fn union(self, other: FieldFlags) -> Self {
        FieldFlags(self.0 | other.0)
    }

    /// True if no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Looks a flag up by its canonical name.
    pub fn from_name(name: &str) -> Option<FieldFlags> {
        FieldFlags::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
    }

    /// The names of the flags that are set, in listing order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FieldFlags::NAMED
            .iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
    }
}

impl fmt::Debug for FieldFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldFlags(")?;
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
        }
        f.write_str(")")
    }
}

impl std::ops::BitOr for FieldFlags {
    type Output = FieldFlags;

    fn bitor(self, rhs: FieldFlags) -> FieldFlags {
        self.union(rhs)
    }
}

spelled_enum! {
    /// The user-facing field class: the part of the name before the field proper.
    pub enum FieldClass {
        Evt => "evt",
        Proc => "proc",
        Thread => "thread",
        User => "user",
        Group => "group",
        Fd => "fd",
        FsPath => "fs.path",
        Util => "util",
        Fdlist => "fdlist",
        Container => "container",
        K8s => "k8s",
    }
}

spelled_enum! {
    /// The filter-check implementation that owns a field, in Falco's registration order.
    ///
    /// Name resolution asks these groups in this order for the longest field-name prefix they
    /// know, and the first group that knows one decides (language.md §4.2). The derived `Ord`
    /// follows declaration order, which is therefore the registration order.
    pub enum FilterCheck {
        /// Event fields available for every event source.
        GenericEvt => "evt (generic)",
        /// Event fields of syscall events.
        SyscallEvt => "evt",
        /// Process and thread fields.
        Process => "process",
        User => "user",
        Group => "group",
        Fd => "fd",
        FsPath => "fs.path",
        Util => "util",
        Fdlist => "fdlist",
        /// Fields served by the container plugin.
        ContainerPlugin => "container (plugin)",
    }
}

spelled_enum! {
    /// Who serves the field at run time.
    pub enum Provider {
        /// Built into libsinsp (and Lanner's own extractors).
        Libsinsp => "libsinsp",
        /// The container plugin, which upstream rules require through `required_plugin_versions`.
        ContainerPlugin => "container plugin",
    }
}

spelled_enum! {
    /// How a value is rendered in outputs.
    pub enum PrintFormat {
        /// Not numeric; printed as its own text form.
        Na => "NA",
        /// Decimal.
        Dec => "DEC",
        /// Decimal identifier.
        Id => "ID",
        /// Upper-case hexadecimal.
        Hex => "HEX",
        /// Decimal zero-padded to nine digits.
        PaddedDec => "10_PADDED_DEC",
        /// Direction marker.
        Dir => "DIR",
    }
}

spelled_enum! {
    /// Whether and how a field is deprecated.
    pub enum Deprecation {
        /// Current field.
        No => "no",
        /// Deprecated, silently accepted by Falco.
        Deprecated => "deprecated",
        /// Deprecated, and Falco emits a LOAD_DEPRECATED_ITEM warning when it is used.
        Warned => "warned",
    }
}

impl Deprecation {
    /// True for both deprecated states.
    pub const fn is_deprecated(self) -> bool {
        !matches!(self, Deprecation::No)
    }
}
