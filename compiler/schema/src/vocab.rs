//! The words rules are made of besides fields and operators: priorities and event sources.
//! The parser, the checker, the program and the runtime all use these types; none has its
//! own copy.

/// Falco's priorities, most severe first; the discriminant is Falco's number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Priority {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Priority {
    /// Case-insensitive, as Falco parses it; `info` is accepted for `Informational`.
    pub fn parse(text: &str) -> Option<Priority> {
        let lower = text.to_ascii_lowercase();
        Some(match lower.as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }

    /// The name Falco prints in alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

/// The event source a rule is written for (`source:`, `syscall` when absent).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Source {
    /// System calls: the only source Lanner's runtime evaluates.
    Syscall,
    /// Any other source (a plugin's: `k8s_audit`, `aws_cloudtrail`, ...), by name.
    Other(String),
}

impl Source {
    /// The source named `name`.
    pub fn parse(name: &str) -> Source {
        match name {
            "syscall" => Source::Syscall,
            other => Source::Other(other.to_owned()),
        }
    }

    /// The name as written in rules files.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Syscall => "syscall",
            Source::Other(name) => name,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
