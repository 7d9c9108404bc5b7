//! Field extraction: the value of a field for an event and the state after parsing it.
//!
//! A field reference is compiled once into an [`Accessor`] (the field name is matched only
//! then), and the accessor is applied to every event. `None` is Falco's `<NA>`: the field does
//! not apply to this event.

use std::borrow::Cow;
use std::net::IpAddr;

use lanner_event::records::fd_type;
use lanner_event::table::EventFlags;
use lanner_event::{Direction, Event, ParamValue, TableVersion};
use lanner_schema::{FieldArg, FieldId, FieldInfo, ResolvedField};

use crate::args;
use crate::container::{Mount, MountKey};
use crate::errno::errno_name;
use crate::hostnames::SharedHostNames;
use crate::state::{Fd, SockInfo, State, Thread, l4, oflags};
use crate::value::Value;

/// Why a field cannot be compiled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    /// The state engine does not implement this field.
    #[error("field {name} is not supported by the state engine")]
    Unsupported {
        /// The field name.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anc {
    Name,
    Pid,
    Exe,
    Exepath,
    Cmdline,
    Env,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    EvtNum,
    EvtTime,
    EvtRawtime,
    EvtType,
    EvtDir,
    EvtRes,
    EvtRawres,
    EvtArgs,
    EvtArg(String),
    EvtRawArg(String),
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtSource,
    EvtCpu,
    EvtCategory,
    EvtIsIo(u32),
    EvtFailed,
    ProcName,
    ProcPid,
    ProcPpid,
    ProcPname,
    ProcPcmdline,
    ProcPexe,
    ProcPexepath,
    ProcCmdline,
    ProcArgs,
    ProcExe,
    ProcExepath,
    ProcCwd,
    ProcTty,
    ProcVpid,
    ProcSid,
    ProcSname,
    ProcVpgid,
    ProcIsVpgidLeader,
    ProcEnv(Option<String>),
    ProcDuration,
    ProcIsExeUpperLayer,
    ProcIsExeLowerLayer,
    ProcIsExeFromMemfd,
    ProcIsExeWritable,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    Ancestor(Anc, Option<u64>),
    ThreadTid,
    ThreadVtid,
    ThreadCapPermitted,
    ThreadCapEffective,
    ThreadCapInheritable,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdNameraw,
    FdDirectory,
    FdFilename,
    FdL4proto,
    FdSip,
    FdSport,
    FdCip,
    FdCport,
    FdLip,
    FdLport,
    FdRip,
    FdRport,
    FdSockfamily,
    FdIsServer,
    FdConnected,
    FdIno,
    FdNameChanged,
    FdIp,
    FdPort,
    ContainerId,
    ContainerName,
    ContainerImageRepository,
    ContainerImage,
    ContainerPrivileged,
    ContainerImageTag,
    ContainerLabel(Option<String>),
    ContainerFullId,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtTimeS,
    EvtDatetime,
    EvtDatetimeS,
    EvtTimeIso8601,
    EvtTypeIs(TypeTest),
    SyscallType,
    EvtIsOpenCreate,
    EvtIsWait,
    EvtIsSyslog,
    EvtBuflen,
    EvtIoDir,
    ProcPvpid,
    ProcFdlimit,
    ProcPgid,
    ProcIsSidLeader,
    ProcIsPgidLeader,
    ProcNthreads,
    ProcNchilds,
    ThreadIsmain,
    ThreadCgroup(String),
    /// Container fields the capture cannot supply (mounts, start time): always `<NA>`.
    ContainerMounts,
    ContainerMount(MountPart, MountKey),
    ContainerStartTs,
    K8sLabel(&'static str),
    EvtBuffer,
    /// The names the rules' host names resolved to an end's address (see [`HostNames`]).
    FdHostName(HostEnd, SharedHostNames),
    FdNet(NetEnd),
}

/// The argument of `evt.type.is`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeTest {
    Name(String),
    Number(u32),
}

/// Which end's address an `fd.*ip.name` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostEnd {
    Client,
    Server,
    Local,
    Remote,
}

/// Which endpoint an `fd.*net` field tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetEnd {
    Any,
    Client,
    Server,
    Local,
    Remote,
}

/// A compiled field reference.
#[derive(Debug, Clone)]
pub struct Accessor {
    field: &'static FieldInfo,
    kind: Kind,
}

/// Which part of a mount a `container.mount*` field gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MountPart {
    All,
    Source,
    Dest,
    Mode,
    Rdwr,
    Propagation,
}

/// The mount a `container.mount*[ARG]` field selects: a number is a position, anything else
/// a glob (the loader requires an argument, so an empty key matches only an empty path).
fn mount_key(arg: &Option<FieldArg>) -> MountKey {
    match arg {
        Some(FieldArg::Index(n)) => MountKey::Index(usize::try_from(*n).unwrap_or(usize::MAX)),
        Some(FieldArg::Key(k)) => MountKey::Glob(k.as_bytes().to_vec()),
        _ => MountKey::Glob(Vec::new()),
    }
}

fn index_arg(arg: &Option<FieldArg>) -> Option<u64> {
    match arg {
        Some(FieldArg::Index(n)) => Some(*n),
        _ => None,
    }
}

impl Accessor {
    /// True for `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and `fd.rip.name`, whose values
    /// come from a [`HostNames`] table.
    pub fn reads_host_names(&self) -> bool {
        matches!(self.kind, Kind::FdHostName(..))
    }

    /// The accessor reading its host names from `names` (for the other fields, itself).
    /// Compiled alone, a host-name field knows no name: every address has the empty list.
    #[must_use]
    pub fn with_host_names(mut self, names: &SharedHostNames) -> Accessor {
        if let Kind::FdHostName(_, table) = &mut self.kind {
            *table = names.clone();
        }
        self
    }

    /// Compiles a resolved field reference.
    pub fn compile(f: &ResolvedField) -> Result<Accessor, ExtractError> {
        let name = f.field.name;
        let idx = index_arg(&f.arg);
        let param_arg = || match &f.arg {
            Some(FieldArg::Param(p)) | Some(FieldArg::Key(p)) => p.clone(),
            Some(FieldArg::Index(n)) => n.to_string(),
            _ => String::new(),
        };
        // An exhaustive match: a field added to the schema is a compile error here until it
        // gets an accessor or joins the unsupported arm (and `data/extracted.txt` agrees, see
        // the `extracted_mark_matches_the_accessors` test).
        let Some(id) = f.field.id else {
            return Err(ExtractError::Unsupported {
                name: name.to_owned(),
            });
        };
        let kind = match id {
            FieldId::EvtNum => Kind::EvtNum,
            FieldId::EvtTime => Kind::EvtTime,
            FieldId::EvtRawtime => Kind::EvtRawtime,
            FieldId::EvtType => Kind::EvtType,
            FieldId::EvtDir => Kind::EvtDir,
            FieldId::EvtRes => Kind::EvtRes,
            FieldId::EvtRawres => Kind::EvtRawres,
            FieldId::EvtArgs => Kind::EvtArgs,
            FieldId::EvtArg => Kind::EvtArg(param_arg()),
            FieldId::EvtRawarg => Kind::EvtRawArg(param_arg()),
            FieldId::EvtIsOpenRead => Kind::EvtIsOpenRead,
            FieldId::EvtIsOpenWrite => Kind::EvtIsOpenWrite,
            FieldId::EvtIsOpenExec => Kind::EvtIsOpenExec,
            FieldId::EvtSource => Kind::EvtSource,
            FieldId::EvtCategory => Kind::EvtCategory,
            FieldId::EvtIsIo => Kind::EvtIsIo(EventFlags::READS_FROM_FD | EventFlags::WRITES_TO_FD),
            FieldId::EvtIsIoRead => Kind::EvtIsIo(EventFlags::READS_FROM_FD),
            FieldId::EvtIsIoWrite => Kind::EvtIsIo(EventFlags::WRITES_TO_FD),
            FieldId::EvtCpu => Kind::EvtCpu,
            FieldId::EvtFailed => Kind::EvtFailed,
            FieldId::ProcName => Kind::ProcName,
            FieldId::ProcPid => Kind::ProcPid,
            FieldId::ProcPpid => Kind::ProcPpid,
            FieldId::ProcPname => Kind::ProcPname,
            FieldId::ProcPcmdline => Kind::ProcPcmdline,
            FieldId::ProcPexe => Kind::ProcPexe,
            FieldId::ProcPexepath => Kind::ProcPexepath,
            FieldId::ProcCmdline => Kind::ProcCmdline,
            FieldId::ProcArgs => Kind::ProcArgs,
            FieldId::ProcExe => Kind::ProcExe,
            FieldId::ProcExepath => Kind::ProcExepath,
            FieldId::ProcCwd => Kind::ProcCwd,
            FieldId::ProcTty => Kind::ProcTty,
            FieldId::ProcVpid => Kind::ProcVpid,
            FieldId::ProcSid => Kind::ProcSid,
            FieldId::ProcSname => Kind::ProcSname,
            FieldId::ProcVpgid => Kind::ProcVpgid,
            FieldId::ProcIsVpgidLeader => Kind::ProcIsVpgidLeader,
            FieldId::ProcEnv => Kind::ProcEnv(match &f.arg {
                Some(FieldArg::Key(k)) => Some(k.clone()),
                _ => None,
            }),
            FieldId::ProcDuration => Kind::ProcDuration,
            FieldId::ProcIsExeUpperLayer => Kind::ProcIsExeUpperLayer,
            FieldId::ProcIsExeLowerLayer => Kind::ProcIsExeLowerLayer,
            FieldId::ProcIsExeFromMemfd => Kind::ProcIsExeFromMemfd,
            FieldId::ProcIsExeWritable => Kind::ProcIsExeWritable,
            FieldId::ProcExeIno => Kind::ProcExeIno,
            FieldId::ProcExeInoCtime => Kind::ProcExeInoCtime,
            FieldId::ProcExeInoMtime => Kind::ProcExeInoMtime,
            FieldId::ProcExeInoCtimeDurationProcStart => Kind::ProcExeInoCtimeDurationProcStart,
            FieldId::ProcAname => Kind::Ancestor(Anc::Name, idx),
            FieldId::ProcApid => Kind::Ancestor(Anc::Pid, idx),
            FieldId::ProcAexe => Kind::Ancestor(Anc::Exe, idx),
            FieldId::ProcAexepath => Kind::Ancestor(Anc::Exepath, idx),
            FieldId::ProcAcmdline => Kind::Ancestor(Anc::Cmdline, idx),
            FieldId::ProcAenv => Kind::Ancestor(Anc::Env, idx),
            FieldId::ThreadTid => Kind::ThreadTid,
            FieldId::ThreadVtid => Kind::ThreadVtid,
            FieldId::ThreadCapPermitted => Kind::ThreadCapPermitted,
            FieldId::ThreadCapEffective => Kind::ThreadCapEffective,
            FieldId::ThreadCapInheritable => Kind::ThreadCapInheritable,
            FieldId::UserUid => Kind::UserUid,
            FieldId::UserName => Kind::UserName,
            FieldId::UserHomedir => Kind::UserHomedir,
            FieldId::UserShell => Kind::UserShell,
            FieldId::UserLoginuid => Kind::UserLoginuid,
            FieldId::UserLoginname => Kind::UserLoginname,
            FieldId::GroupGid => Kind::GroupGid,
            FieldId::GroupName => Kind::GroupName,
            FieldId::FdNum => Kind::FdNum,
            FieldId::FdType => Kind::FdType,
            FieldId::FdTypechar => Kind::FdTypechar,
            FieldId::FdName => Kind::FdName,
            FieldId::FdNameraw => Kind::FdNameraw,
            FieldId::FdDirectory => Kind::FdDirectory,
            FieldId::FdFilename => Kind::FdFilename,
            FieldId::FdL4proto => Kind::FdL4proto,
            FieldId::FdSip => Kind::FdSip,
            FieldId::FdSport => Kind::FdSport,
            FieldId::FdCip => Kind::FdCip,
            FieldId::FdCport => Kind::FdCport,
            FieldId::FdLip => Kind::FdLip,
            FieldId::FdLport => Kind::FdLport,
            FieldId::FdRip => Kind::FdRip,
            FieldId::FdRport => Kind::FdRport,
            FieldId::FdSockfamily => Kind::FdSockfamily,
            FieldId::FdIsServer => Kind::FdIsServer,
            FieldId::FdConnected => Kind::FdConnected,
            FieldId::FdIno => Kind::FdIno,
            FieldId::FdNameChanged => Kind::FdNameChanged,
            FieldId::FdIp => Kind::FdIp,
            FieldId::FdPort => Kind::FdPort,
            FieldId::ContainerId => Kind::ContainerId,
            FieldId::ContainerName => Kind::ContainerName,
            FieldId::ContainerImageRepository => Kind::ContainerImageRepository,
            FieldId::ContainerImage => Kind::ContainerImage,
            FieldId::ContainerPrivileged => Kind::ContainerPrivileged,
            FieldId::ContainerImageTag => Kind::ContainerImageTag,
            FieldId::ContainerLabel => Kind::ContainerLabel(match &f.arg {
                Some(FieldArg::Key(k)) => Some(k.clone()),
                _ => None,
            }),
            FieldId::ContainerLabels => Kind::ContainerLabel(None),
            FieldId::ContainerFullId => Kind::ContainerFullId,
            FieldId::EvtRawtimeS => Kind::EvtRawtimeS,
            FieldId::EvtRawtimeNs => Kind::EvtRawtimeNs,
            FieldId::EvtTimeS => Kind::EvtTimeS,
            FieldId::EvtDatetime => Kind::EvtDatetime,
            FieldId::EvtDatetimeS => Kind::EvtDatetimeS,
            FieldId::EvtTimeIso8601 => Kind::EvtTimeIso8601,
            FieldId::EvtTypeIs => Kind::EvtTypeIs(match &f.arg {
                Some(FieldArg::EventNumber(n)) => TypeTest::Number(*n),
                Some(FieldArg::EventName(n)) => TypeTest::Name(n.clone()),
                _ => TypeTest::Name(String::new()),
            }),
            FieldId::SyscallType => Kind::SyscallType,
            FieldId::EvtIsOpenCreate => Kind::EvtIsOpenCreate,
            FieldId::EvtIsWait => Kind::EvtIsWait,
            FieldId::EvtIsSyslog => Kind::EvtIsSyslog,
            FieldId::EvtBuflen => Kind::EvtBuflen,
            FieldId::EvtIoDir => Kind::EvtIoDir,
            FieldId::ProcPvpid => Kind::ProcPvpid,
            FieldId::ProcFdlimit => Kind::ProcFdlimit,
            FieldId::ProcPgid => Kind::ProcPgid,
            FieldId::ProcIsSidLeader => Kind::ProcIsSidLeader,
            FieldId::ProcIsPgidLeader => Kind::ProcIsPgidLeader,
            FieldId::ProcNthreads => Kind::ProcNthreads,
            FieldId::ProcNchilds => Kind::ProcNchilds,
            FieldId::ThreadIsmain => Kind::ThreadIsmain,
            FieldId::ThreadCgroup => Kind::ThreadCgroup(match &f.arg {
                Some(FieldArg::Subsystem(s)) => s.clone(),
                _ => String::new(),
            }),
            FieldId::ContainerMounts => Kind::ContainerMounts,
            FieldId::ContainerMount => Kind::ContainerMount(MountPart::All, mount_key(&f.arg)),
            FieldId::ContainerMountSource => {
                Kind::ContainerMount(MountPart::Source, mount_key(&f.arg))
            }
            FieldId::ContainerMountDest => Kind::ContainerMount(MountPart::Dest, mount_key(&f.arg)),
            FieldId::ContainerMountMode => Kind::ContainerMount(MountPart::Mode, mount_key(&f.arg)),
            FieldId::ContainerMountRdwr => Kind::ContainerMount(MountPart::Rdwr, mount_key(&f.arg)),
            FieldId::ContainerMountPropagation => {
                Kind::ContainerMount(MountPart::Propagation, mount_key(&f.arg))
            }
            FieldId::ContainerStartTs => Kind::ContainerStartTs,
            FieldId::K8sNsName => Kind::K8sLabel("io.kubernetes.pod.namespace"),
            FieldId::K8sPodName => Kind::K8sLabel("io.kubernetes.pod.name"),
            FieldId::EvtBuffer => Kind::EvtBuffer,
            FieldId::FdCipName => Kind::FdHostName(HostEnd::Client, SharedHostNames::default()),
            FieldId::FdSipName => Kind::FdHostName(HostEnd::Server, SharedHostNames::default()),
            FieldId::FdLipName => Kind::FdHostName(HostEnd::Local, SharedHostNames::default()),
            FieldId::FdRipName => Kind::FdHostName(HostEnd::Remote, SharedHostNames::default()),
            FieldId::FdNet => Kind::FdNet(NetEnd::Any),
            FieldId::FdCnet => Kind::FdNet(NetEnd::Client),
            FieldId::FdSnet => Kind::FdNet(NetEnd::Server),
            FieldId::FdLnet => Kind::FdNet(NetEnd::Local),
            FieldId::FdRnet => Kind::FdNet(NetEnd::Remote),
            // Falco knows these fields; the runtime does not extract them (the schema marks
            // them not `extracted`, and `rulec check` warns on them: L344).
            FieldId::EvtReltime
            | FieldId::EvtReltimeS
            | FieldId::EvtReltimeNs
            | FieldId::EvtPluginname
            | FieldId::EvtPlugininfo
            | FieldId::EvtIsAsync
            | FieldId::EvtAsynctype
            | FieldId::EvtHostname
            | FieldId::EvtLatency
            | FieldId::EvtLatencyS
            | FieldId::EvtLatencyNs
            | FieldId::EvtLatencyQuantized
            | FieldId::EvtLatencyHuman
            | FieldId::EvtDeltatime
            | FieldId::EvtDeltatimeS
            | FieldId::EvtDeltatimeNs
            | FieldId::EvtOutputtime
            | FieldId::EvtInfo
            | FieldId::EvtWaitLatency
            | FieldId::EvtCount
            | FieldId::EvtCountError
            | FieldId::EvtCountErrorFile
            | FieldId::EvtCountErrorNet
            | FieldId::EvtCountErrorMemory
            | FieldId::EvtCountErrorOther
            | FieldId::EvtCountExit
            | FieldId::EvtCountProcinfo
            | FieldId::EvtCountThreadinfo
            | FieldId::EvtAround
            | FieldId::EvtAbspath
            | FieldId::EvtBuflenIn
            | FieldId::EvtBuflenOut
            | FieldId::EvtBuflenFile
            | FieldId::EvtBuflenFileIn
            | FieldId::EvtBuflenFileOut
            | FieldId::EvtBuflenNet
            | FieldId::EvtBuflenNetIn
            | FieldId::EvtBuflenNetOut
            | FieldId::EvtInfraDockerName
            | FieldId::EvtInfraDockerContainerId
            | FieldId::EvtInfraDockerContainerName
            | FieldId::EvtInfraDockerContainerImage
            | FieldId::ProcAargs
            | FieldId::ProcCmdnargs
            | FieldId::ProcCmdlenargs
            | FieldId::ProcExeline
            | FieldId::ProcLoginshellid
            | FieldId::ProcSidExe
            | FieldId::ProcSidExepath
            | FieldId::ProcVpgidName
            | FieldId::ProcVpgidExe
            | FieldId::ProcVpgidExepath
            | FieldId::ProcPgidName
            | FieldId::ProcPgidExe
            | FieldId::ProcPgidExepath
            | FieldId::ProcPpidDuration
            | FieldId::ProcPidTs
            | FieldId::ProcPpidTs
            | FieldId::ProcExeInoCtimeDurationPidnsStart
            | FieldId::ProcPidnsInitStartTs
            | FieldId::ProcFdopencount
            | FieldId::ProcFdusage
            | FieldId::ProcVmsize
            | FieldId::ProcVmrss
            | FieldId::ProcVmswap
            | FieldId::ThreadPfmajor
            | FieldId::ThreadPfminor
            | FieldId::ThreadNametid
            | FieldId::ThreadExectime
            | FieldId::ThreadTotexectime
            | FieldId::ThreadCgroups
            | FieldId::ThreadCpu
            | FieldId::ThreadCpuUser
            | FieldId::ThreadCpuSystem
            | FieldId::ThreadVmsize
            | FieldId::ThreadVmrss
            | FieldId::ThreadVmsizeB
            | FieldId::ThreadVmrssB
            | FieldId::ProcStdinType
            | FieldId::ProcStdoutType
            | FieldId::ProcStderrType
            | FieldId::ProcStdinName
            | FieldId::ProcStdoutName
            | FieldId::ProcStderrName
            | FieldId::FdUid
            | FieldId::FdContainername
            | FieldId::FdContainerdirectory
            | FieldId::FdProto
            | FieldId::FdCproto
            | FieldId::FdSproto
            | FieldId::FdLproto
            | FieldId::FdRproto
            | FieldId::FdDev
            | FieldId::FdDevMajor
            | FieldId::FdDevMinor
            | FieldId::FdTypes
            | FieldId::FdIsUpperLayer
            | FieldId::FdIsLowerLayer
            | FieldId::FsPathName
            | FieldId::FsPathNameraw
            | FieldId::FsPathSource
            | FieldId::FsPathSourceraw
            | FieldId::FsPathTarget
            | FieldId::FsPathTargetraw
            | FieldId::UtilCnt
            | FieldId::FdlistNums
            | FieldId::FdlistNames
            | FieldId::FdlistCips
            | FieldId::FdlistSips
            | FieldId::FdlistCports
            | FieldId::FdlistSports
            | FieldId::ContainerImageId
            | FieldId::ContainerType
            | FieldId::ContainerImageDigest
            | FieldId::ContainerHealthcheck
            | FieldId::ContainerLivenessProbe
            | FieldId::ContainerReadinessProbe
            | FieldId::ContainerDuration
            | FieldId::ContainerIp
            | FieldId::ContainerCniJson
            | FieldId::ContainerHostPid
            | FieldId::ContainerHostNetwork
            | FieldId::ContainerHostIpc
            | FieldId::ProcIsContainerHealthcheck
            | FieldId::ProcIsContainerLivenessProbe
            | FieldId::ProcIsContainerReadinessProbe
            | FieldId::K8sPodId
            | FieldId::K8sPodUid
            | FieldId::K8sPodSandboxId
            | FieldId::K8sPodFullSandboxId
            | FieldId::K8sPodLabel
            | FieldId::K8sPodLabels
            | FieldId::K8sPodIp
            | FieldId::K8sPodCniJson
            | FieldId::K8sRcName
            | FieldId::K8sRcId
            | FieldId::K8sRcLabel
            | FieldId::K8sRcLabels
            | FieldId::K8sSvcName
            | FieldId::K8sSvcId
            | FieldId::K8sSvcLabel
            | FieldId::K8sSvcLabels
            | FieldId::K8sRsName
            | FieldId::K8sRsId
            | FieldId::K8sRsLabel
            | FieldId::K8sRsLabels
            | FieldId::K8sDeploymentName
            | FieldId::K8sDeploymentId
            | FieldId::K8sDeploymentLabel
            | FieldId::K8sDeploymentLabels
            | FieldId::K8sNsId
            | FieldId::K8sNsLabel
            | FieldId::K8sNsLabels => {
                return Err(ExtractError::Unsupported {
                    name: name.to_owned(),
                });
            }
        };
        Ok(Accessor {
            field: f.field,
            kind,
        })
    }

    /// The schema entry of the field.
    pub fn field(&self) -> &'static FieldInfo {
        self.field
    }

    /// The field's value for `ev` (already parsed into `st`), or `None` for `<NA>`.
    pub fn extract<'a>(&self, ev: &Event<'a>, st: &'a State) -> Option<Value<'a>> {
        let thread = || st.thread(ev.tid());
        let main = || thread().map(|t| st.main_thread(t));
        let fd = || st.current.fd.as_deref();
        // The container of the event: the one a container event describes, else its thread's
        // ("" on the host).
        let container_id = || -> Option<&'a str> {
            match &st.current.container {
                Some(id) => Some(id),
                None => thread().map(|t| &*t.container_id),
            }
        };
        match &self.kind {
            Kind::EvtNum => Some(Value::UInt(st.current.num)),
            Kind::EvtTime | Kind::EvtRawtime => Some(Value::UInt(ev.ts())),
            Kind::EvtType => Some(Value::str(event_name(ev))),
            Kind::EvtDir => Some(Value::str(match ev.direction() {
                Direction::Enter => ">",
                Direction::Exit => "<",
            })),
            Kind::EvtRes => {
                let r = rawres(ev)?;
                Some(Value::str(if r >= 0 {
                    "SUCCESS"
                } else {
                    errno_name(-r).unwrap_or("<NA>")
                }))
            }
            Kind::EvtRawres => rawres(ev).map(Value::Int),
            Kind::EvtFailed => Some(Value::Bool(rawres(ev).is_some_and(|r| r < 0))),
            Kind::EvtArgs => Some(Value::Str(Cow::Owned(args::render_args(ev, st)))),
            Kind::EvtArg(name) => args::render_arg(ev, st, name).map(|s| Value::Str(Cow::Owned(s))),
            Kind::EvtRawArg(name) => raw_arg(ev, name),
            Kind::EvtIsOpenRead => Some(Value::Bool(
                open_flags(ev).is_some_and(|f| f & oflags::RDONLY != 0),
            )),
            Kind::EvtIsOpenWrite => Some(Value::Bool(
                open_flags(ev).is_some_and(|f| f & oflags::WRONLY != 0),
            )),
            // An open that creates a file with an execute bit in its mode.
            Kind::EvtIsOpenExec => Some(Value::Bool(
                open_flags(ev).is_some_and(|f| f & (oflags::CREAT | oflags::F_CREATED) != 0)
                    && open_mode(ev).is_some_and(|m| m & 0o111 != 0),
            )),
            Kind::EvtSource => Some(Value::str("syscall")),
            Kind::EvtCategory => Some(Value::str(category(ev, fd()))),
            Kind::EvtIsIo(mask) => Some(Value::Bool(
                ev.info().is_some_and(|i| i.flags.0 & mask != 0),
            )),
            Kind::EvtCpu => Some(Value::Int(i64::from(ev.cpu()))),
            Kind::ProcName => thread().map(|t| bytes(&t.comm)),
            Kind::ProcPid => thread().map(|t| Value::Int(t.pid)),
            // Falco has no parent id for processes whose parent is 0 (the kernel) or unknown.
            Kind::ProcPpid => main().and_then(|t| (t.ptid > 0).then_some(Value::Int(t.ptid))),
            Kind::ProcPname => thread().and_then(|t| st.parent(t)).map(|p| bytes(&p.comm)),
            Kind::ProcPcmdline => thread()
                .and_then(|t| st.parent(t))
                .map(|p| Value::Str(Cow::Owned(cmdline(p)))),
            Kind::ProcPexe => thread().and_then(|t| st.parent(t)).map(|p| bytes(&p.exe)),
            Kind::ProcPexepath => thread()
                .and_then(|t| st.parent(t))
                .map(|p| bytes(&p.exepath)),
            Kind::ProcCmdline => thread().map(|t| Value::Str(Cow::Owned(cmdline(t)))),
            Kind::ProcArgs => thread().map(|t| Value::Str(Cow::Owned(t.args.join(&b' ')))),
            Kind::ProcExe => thread().map(|t| bytes(&t.exe)),
            Kind::ProcExepath => thread().map(|t| bytes(&t.exepath)),
            Kind::ProcCwd => main().map(|t| bytes(&t.cwd)),
            Kind::ProcTty => thread().map(|t| Value::UInt(u64::from(t.tty))),
            // An unknown namespace id (-1) is no value, as in libsinsp.
            Kind::ProcVpid => thread().and_then(|t| (t.vpid != -1).then_some(Value::Int(t.vpid))),
            Kind::ProcSid => thread().map(|t| Value::Int(t.sid)),
            Kind::ProcSname => thread().and_then(|t| {
                if let Some(leader) = st.thread(t.sid) {
                    return Some(bytes(&leader.comm));
                }
                let mut cur = st.main_thread(t);
                for _ in 0..256 {
                    if cur.pid == t.sid {
                        return Some(bytes(&cur.comm));
                    }
                    cur = st.parent(cur)?;
                }
                None
            }),
            Kind::ProcVpgid => thread().map(|t| Value::Int(t.vpgid)),
            Kind::ProcIsVpgidLeader => thread().map(|t| Value::Bool(t.vpid == t.vpgid)),
            Kind::ProcEnv(key) => thread().and_then(|t| env(st.main_thread(t), key.as_deref())),
            Kind::ProcDuration => thread().and_then(|t| {
                let mt = st.main_thread(t);
                (mt.clone_ts != 0).then(|| Value::UInt(ev.ts().saturating_sub(mt.clone_ts)))
            }),
            Kind::ProcIsExeUpperLayer => main().map(|t| Value::Bool(t.exe_upper_layer)),
            Kind::ProcIsExeLowerLayer => main().map(|t| Value::Bool(t.exe_lower_layer)),
            Kind::ProcIsExeFromMemfd => main().map(|t| Value::Bool(t.exe_from_memfd)),
            Kind::ProcIsExeWritable => main().map(|t| Value::Bool(t.exe_writable)),
            Kind::ProcExeIno => main().and_then(|t| nonzero(t.exe_ino)),
            Kind::ProcExeInoCtime => main().and_then(|t| nonzero(t.exe_ino_ctime)),
            Kind::ProcExeInoMtime => main().and_then(|t| nonzero(t.exe_ino_mtime)),
            Kind::ProcExeInoCtimeDurationProcStart => main().and_then(|t| {
                (t.exe_ino_ctime != 0 && t.clone_ts != 0)
                    .then(|| Value::UInt(t.clone_ts.saturating_sub(t.exe_ino_ctime)))
            }),
            Kind::Ancestor(what, idx) => ancestor(st, thread()?, *what, *idx),
            Kind::ThreadTid => Some(Value::Int(ev.tid())),
            Kind::ThreadVtid => thread().and_then(|t| (t.vtid != -1).then_some(Value::Int(t.vtid))),
            Kind::ThreadCapPermitted => thread().map(|t| caps(t.cap_permitted)),
            Kind::ThreadCapEffective => thread().map(|t| caps(t.cap_effective)),
            Kind::ThreadCapInheritable => thread().map(|t| caps(t.cap_inheritable)),
            Kind::UserUid => thread().map(|t| Value::UInt(u64::from(t.uid))),
            Kind::UserName => thread().map(|t| match st.user(t.uid) {
                Some(u) => bytes(&u.name),
                None => Value::str("<NA>"),
            }),
            Kind::UserHomedir => thread().map(|t| match st.user(t.uid) {
                Some(u) => bytes(&u.homedir),
                None => Value::str("<NA>"),
            }),
            Kind::UserShell => thread().map(|t| match st.user(t.uid) {
                Some(u) => bytes(&u.shell),
                None => Value::str("<NA>"),
            }),
            Kind::UserLoginuid => thread().map(|t| Value::Int(loginuid(t))),
            Kind::UserLoginname => thread().map(|t| match st.user(t.loginuid) {
                Some(u) => bytes(&u.name),
                None => Value::str("<NA>"),
            }),
            Kind::GroupGid => thread().map(|t| Value::UInt(u64::from(t.gid))),
            Kind::GroupName => thread().map(|t| match st.group(t.gid) {
                Some(g) => bytes(g),
                None => Value::str("<NA>"),
            }),
            Kind::FdNum => st.current.fd_num.map(Value::Int),
            Kind::FdType => fd().and_then(|f| fd_type_name(f.kind)).map(Value::str),
            Kind::FdTypechar => {
                st.current.fd_num?;
                let c = fd().map_or("o", |f| fd_typechar(f.kind));
                Some(Value::str(c))
            }
            Kind::FdName => {
                st.current.fd_num?;
                Some(fd().map_or(Value::str(""), |f| bytes(&f.name)))
            }
            Kind::FdNameraw => {
                st.current.fd_num?;
                Some(fd().map_or(Value::str(""), |f| bytes(&f.name_raw)))
            }
            Kind::FdDirectory => {
                st.current.fd_num?;
                match fd() {
                    None => Some(Value::str("/")),
                    Some(f) if f.kind == fd_type::DIRECTORY => Some(bytes(&f.name)),
                    Some(f) if is_file_like(f.kind) => Some(bytes(dirname(&f.name))),
                    Some(_) => None,
                }
            }
            Kind::FdFilename => {
                let f = fd()?;
                (f.kind == fd_type::FILE || f.kind == fd_type::FILE_V2)
                    .then(|| bytes(basename(&f.name)))
            }
            Kind::FdL4proto => {
                let f = fd()?;
                if f.kind == 0 || f.kind == crate::state::FAILED_FILE {
                    return None;
                }
                Some(Value::str(match (&f.sock, f.l4proto) {
                    (SockInfo::None, _) => "<NA>",
                    (_, l4::TCP) => "tcp",
                    (_, l4::UDP) => "udp",
                    (_, l4::ICMP) => "icmp",
                    (_, l4::RAW) => "raw",
                    _ => "<NA>",
                }))
            }
            Kind::FdSip => fd().and_then(|f| endpoint(f, End::Server).map(|(ip, _)| ip_value(ip))),
            Kind::FdSport => fd().and_then(|f| endpoint(f, End::Server).map(|(_, p)| port(p))),
            Kind::FdCip => fd().and_then(|f| endpoint(f, End::Client).map(|(ip, _)| ip_value(ip))),
            Kind::FdCport => fd().and_then(|f| endpoint(f, End::Client).map(|(_, p)| port(p))),
            Kind::FdLip => fd().and_then(|f| local_remote(f, st, true).map(|(ip, _)| ip_value(ip))),
            Kind::FdLport => fd().and_then(|f| local_remote(f, st, true).map(|(_, p)| port(p))),
            Kind::FdRip => {
                fd().and_then(|f| local_remote(f, st, false).map(|(ip, _)| ip_value(ip)))
            }
            Kind::FdRport => fd().and_then(|f| local_remote(f, st, false).map(|(_, p)| port(p))),
            Kind::FdSockfamily => fd().and_then(|f| match f.kind {
                fd_type::IPV4_SOCK | fd_type::IPV6_SOCK => Some(Value::str("ip")),
                fd_type::UNIX_SOCK => Some(Value::str("unix")),
                _ => None,
            }),
            Kind::FdIsServer => fd().map(|f| Value::Bool(is_server(f, st))),
            Kind::FdConnected => fd().map(|f| Value::Bool(f.connected)),
            Kind::FdIno => fd().map(|f| Value::UInt(f.ino)),
            Kind::FdNameChanged => fd().map(|_| Value::Bool(st.current.name_changed)),
            Kind::FdIp => fd().and_then(|f| {
                let mut v = Vec::new();
                if let Some((ip, _)) = endpoint(f, End::Client) {
                    v.push(ip_value(ip));
                }
                if let Some((ip, _)) = endpoint(f, End::Server) {
                    v.push(ip_value(ip));
                }
                (!v.is_empty()).then_some(Value::List(v))
            }),
            Kind::FdPort => fd().and_then(|f| {
                let mut v = Vec::new();
                if let Some((_, p)) = endpoint(f, End::Client) {
                    v.push(port(p));
                }
                if let Some((_, p)) = endpoint(f, End::Server) {
                    v.push(port(p));
                }
                (!v.is_empty()).then_some(Value::List(v))
            }),
            Kind::ContainerId => container_id().map(|id| {
                if id.is_empty() {
                    Value::str("host")
                } else {
                    Value::Str(Cow::Borrowed(id.as_bytes()))
                }
            }),
            Kind::ContainerName => {
                let id = container_id()?;
                if id.is_empty() {
                    return Some(Value::str("host"));
                }
                st.container(id).map(|c| bytes(&c.name))
            }
            Kind::ContainerImageRepository => {
                let id = container_id()?;
                if id.is_empty() {
                    return Some(Value::str(""));
                }
                st.container(id).map(|c| bytes(&c.image_repo))
            }
            Kind::ContainerPrivileged => {
                let id = container_id()?;
                st.container(id)?.privileged.map(Value::Bool)
            }
            Kind::FdHostName(end, names) => {
                let f = fd()?;
                let addr = match end {
                    HostEnd::Client => match &f.sock {
                        SockInfo::V4 { .. } | SockInfo::V6 { .. } => endpoint(f, End::Client),
                        _ => None,
                    },
                    HostEnd::Server => endpoint(f, End::Server),
                    HostEnd::Local => local_remote(f, st, true),
                    HostEnd::Remote => local_remote(f, st, false),
                }?
                .0;
                let table = names.current();
                let found = table.names_of(addr);
                // A listening socket's address without a name is no value: Falco's
                // name comparison only applies to connected sockets.
                if found.is_empty()
                    && matches!(
                        f.sock,
                        SockInfo::V4Server { .. } | SockInfo::V6Server { .. }
                    )
                {
                    return None;
                }
                Some(Value::List(
                    found
                        .iter()
                        .map(|n| Value::Str(Cow::Owned(n.as_bytes().to_vec())))
                        .collect(),
                ))
            }
            Kind::ContainerMounts => {
                let c = st.container(container_id()?)?;
                let items: Vec<Vec<u8>> = c.mounts.iter().map(Mount::render).collect();
                Some(Value::Str(Cow::Owned(items.join(&b','))))
            }
            Kind::ContainerMount(part, key) => {
                let c = st.container(container_id()?)?;
                // A key that selects no mount gives no value (the plugin sets none).
                let m = c.mount(key, *part == MountPart::Source)?;
                Some(match part {
                    MountPart::All => Value::Str(Cow::Owned(m.render())),
                    MountPart::Source => bytes(&m.source),
                    MountPart::Dest => bytes(&m.dest),
                    MountPart::Mode => bytes(&m.mode),
                    MountPart::Rdwr => Value::str(if m.rw { "true" } else { "false" }),
                    MountPart::Propagation => bytes(&m.propagation),
                })
            }
            Kind::ContainerStartTs => thread().and_then(|t| nonzero(t.pidns_init_start_ts)),
            Kind::ContainerImageTag => {
                let id = container_id()?;
                if id.is_empty() {
                    return Some(Value::str(""));
                }
                let image = &st.container(id)?.image;
                // The tag follows the last ':' after the last '/' (a registry port is not a tag).
                let last = image.rsplit(|b| *b == b'/').next().unwrap_or(image);
                Some(match last.iter().rposition(|b| *b == b':') {
                    Some(i) => bytes(last.get(i + 1..).unwrap_or_default()),
                    None => Value::str("latest"),
                })
            }
            Kind::ContainerLabel(key) => {
                let id = container_id()?;
                let c = st.container(id)?;
                match key {
                    Some(k) => c
                        .labels
                        .iter()
                        .find(|(l, _)| l == k)
                        .map(|(_, v)| bytes(v.as_bytes())),
                    None => Some(Value::Str(Cow::Owned(
                        c.labels
                            .iter()
                            .map(|(k, v)| format!("{k}:{v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                            .into_bytes(),
                    ))),
                }
            }
            Kind::ContainerFullId => {
                let id = container_id()?;
                if id.is_empty() {
                    return Some(Value::str("host"));
                }
                match st.container(id) {
                    Some(c) if !c.id.is_empty() => Some(bytes(c.id.as_bytes())),
                    _ => st
                        .container_full_id(&thread()?.cgroups)
                        .map(|id| Value::Str(Cow::Owned(id.into_bytes()))),
                }
            }
            Kind::EvtRawtimeS => Some(Value::UInt(ev.ts() / 1_000_000_000)),
            Kind::EvtRawtimeNs => Some(Value::UInt(ev.ts() % 1_000_000_000)),
            Kind::EvtTimeS => Some(owned(
                crate::render::time_of_day(ev.ts())
                    .get(..8)
                    .unwrap_or_default(),
            )),
            Kind::EvtDatetime => Some(owned(&crate::args::abstime(ev.ts()))),
            Kind::EvtDatetimeS => Some(owned(
                crate::args::abstime(ev.ts()).get(..19).unwrap_or_default(),
            )),
            Kind::EvtTimeIso8601 => {
                let d = crate::args::abstime(ev.ts()).replacen(' ', "T", 1);
                Some(owned(&format!("{d}Z")))
            }
            Kind::EvtTypeIs(test) => {
                let yes = match test {
                    TypeTest::Name(n) => event_name(ev) == n,
                    TypeTest::Number(n) => u32::from(ev.event_type()) == *n,
                };
                Some(Value::UInt(u64::from(yes)))
            }
            Kind::SyscallType => ev
                .info()
                .filter(|i| i.category.0 & lanner_event::table::Category::SYSCALL != 0)
                .map(|_| Value::str(event_name(ev))),
            Kind::EvtIsOpenCreate => Some(Value::Bool(
                open_flags(ev).is_some_and(|f| f & oflags::F_CREATED != 0),
            )),
            Kind::EvtIsWait => Some(Value::Bool(
                ev.info()
                    .is_some_and(|i| i.flags.contains(EventFlags::WAITS)),
            )),
            Kind::EvtIsSyslog => Some(Value::Bool(
                ev.info()
                    .is_some_and(|i| i.flags.contains(EventFlags::WRITES_TO_FD))
                    && fd().is_some_and(|f| f.name.ends_with(b"/dev/log")),
            )),
            Kind::EvtBuflen => {
                let io = ev.info().is_some_and(|i| {
                    i.flags.0 & (EventFlags::READS_FROM_FD | EventFlags::WRITES_TO_FD) != 0
                });
                let r = rawres(ev)?;
                (io && r >= 0).then_some(Value::UInt(r as u64))
            }
            Kind::EvtIoDir => ev.info().and_then(|i| {
                if i.flags.contains(EventFlags::READS_FROM_FD) {
                    Some(Value::str("r"))
                } else if i.flags.contains(EventFlags::WRITES_TO_FD) {
                    Some(Value::str("w"))
                } else {
                    None
                }
            }),
            Kind::ProcPvpid => thread()
                .and_then(|t| st.parent(t))
                .map(|p| Value::Int(p.vpid)),
            Kind::ProcFdlimit => main().map(|t| Value::Int(t.fdlimit)),
            Kind::ProcPgid => thread().map(|t| Value::Int(t.pgid)),
            Kind::ProcIsSidLeader => thread().map(|t| {
                let pid = if t.vpid > 0 { t.vpid } else { t.pid };
                Value::Bool(t.sid == pid)
            }),
            Kind::ProcIsPgidLeader => thread().map(|t| Value::Bool(t.pgid == t.pid)),
            Kind::ProcNthreads => main().map(|t| Value::UInt(st.count_threads(t.pid) as u64)),
            Kind::ProcNchilds => main().map(|t| Value::UInt(st.count_children(t.tid) as u64)),
            Kind::ThreadIsmain => thread().map(|t| Value::Bool(t.is_main())),
            Kind::ThreadCgroup(sub) => thread().and_then(|t| {
                t.cgroups
                    .iter()
                    .find(|(k, _)| k.as_slice() == sub.as_bytes())
                    .map(|(_, v)| bytes(v))
            }),
            Kind::K8sLabel(key) => {
                let c = st.container(container_id()?)?;
                c.labels
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| bytes(v.as_bytes()))
            }
            Kind::EvtBuffer => {
                let i = ev.info()?.param_index("data")?;
                match ev.decode(i).ok()? {
                    ParamValue::Bytes(b) => Some(Value::Bytes(Cow::Borrowed(b))),
                    _ => None,
                }
            }
            Kind::FdNet(end) => {
                let f = fd()?;
                let pick = |e: End| endpoint(f, e).map(|(ip, _)| ip_value(ip));
                match end {
                    NetEnd::Client => pick(End::Client),
                    NetEnd::Server => pick(End::Server),
                    NetEnd::Local => local_remote(f, st, true).map(|(ip, _)| ip_value(ip)),
                    NetEnd::Remote => local_remote(f, st, false).map(|(ip, _)| ip_value(ip)),
                    NetEnd::Any => {
                        let v: Vec<Value<'_>> = [pick(End::Client), pick(End::Server)]
                            .into_iter()
                            .flatten()
                            .collect();
                        (!v.is_empty()).then_some(Value::List(v))
                    }
                }
            }
            Kind::ContainerImage => {
                let id = container_id()?;
                if id.is_empty() {
                    return Some(Value::str(""));
                }
                st.container(id).map(|c| bytes(&c.image))
            }
        }
    }
}

/// Extracts `field` from `ev` (already parsed into `st`). Compiles the reference on every call;
/// hot paths compile an [`Accessor`] once instead.
pub fn extract<'a>(field: &ResolvedField, ev: &Event<'a>, st: &'a State) -> Option<Value<'a>> {
    Accessor::compile(field).ok()?.extract(ev, st)
}

fn bytes(b: &[u8]) -> Value<'_> {
    Value::Str(Cow::Borrowed(b))
}

fn owned(s: &str) -> Value<'static> {
    Value::Str(Cow::Owned(s.as_bytes().to_vec()))
}

fn nonzero(v: u64) -> Option<Value<'static>> {
    (v != 0).then_some(Value::UInt(v))
}

fn port(p: u16) -> Value<'static> {
    Value::UInt(u64::from(p))
}

fn ip_value(ip: IpAddr) -> Value<'static> {
    match ip {
        IpAddr::V4(a) => Value::Ipv4(a),
        IpAddr::V6(a) => Value::Ipv6(a),
    }
}

fn loginuid(t: &Thread) -> i64 {
    if t.loginuid == u32::MAX {
        -1
    } else {
        i64::from(t.loginuid)
    }
}

/// `evt.type`: the event's name; generic events resolve to their syscall name.
pub fn event_name(ev: &Event<'_>) -> &'static str {
    if matches!(ev.event_type(), 0 | 1) {
        let code = match ev.decode(0) {
            Ok(ParamValue::SyscallId(c)) => c,
            _ => 0,
        };
        // Falco shows PPM_SC code 0 as the first name of its syscall table.
        if code == 0 {
            return "fadvise64";
        }
        return TableVersion::Current.ppm_sc_name(code).unwrap_or("syscall");
    }
    ev.info().map_or("unknown", |i| i.name)
}

/// The return value of an exit event (its first parameter), if it has one.
pub fn rawres(ev: &Event<'_>) -> Option<i64> {
    if ev.direction() != Direction::Exit || matches!(ev.event_type(), 0 | 1) {
        return None;
    }
    match ev.decode(0).ok()? {
        ParamValue::Empty => None,
        ParamValue::Uid(u) | ParamValue::Gid(u) => Some(i64::from(u)),
        v => v.as_i64(),
    }
}

fn raw_arg<'a>(ev: &Event<'a>, name: &str) -> Option<Value<'a>> {
    let i = ev.info()?.param_index(name)?;
    let v = ev.decode(i).ok()?;
    Some(match v {
        ParamValue::Empty => return None,
        ParamValue::Str(s) | ParamValue::Path(s) => Value::Str(Cow::Borrowed(s)),
        ParamValue::RelPath { path, .. } => Value::Str(Cow::Borrowed(path)),
        ParamValue::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
        ParamValue::Ipv4(a) => Value::Ipv4(a),
        ParamValue::Ipv6(a) => Value::Ipv6(a),
        ParamValue::Double(d) => Value::Double(d),
        ParamValue::Bool(b) => Value::Bool(b),
        ParamValue::Uint64(u) | ParamValue::RelTime(u) | ParamValue::AbsTime(u) => Value::UInt(u),
        other => match other.as_i64() {
            Some(n) if is_signed(&other) => Value::Int(n),
            Some(n) => Value::UInt(n as u64),
            None => return None,
        },
    })
}

fn is_signed(v: &ParamValue<'_>) -> bool {
    matches!(
        v,
        ParamValue::Int8(_)
            | ParamValue::Int16(_)
            | ParamValue::Int32(_)
            | ParamValue::Int64(_)
            | ParamValue::Errno(_)
            | ParamValue::Fd(_)
            | ParamValue::Pid(_)
    )
}

fn open_flags(ev: &Event<'_>) -> Option<u32> {
    let info = ev.info()?;
    if info.direction != Direction::Exit
        || !matches!(info.name, "open" | "openat" | "openat2" | "creat")
    {
        return None;
    }
    if info.name == "creat" {
        return None;
    }
    let i = info.param_index("flags")?;
    match ev.decode(i).ok()? {
        ParamValue::Flags { bits, .. } => Some(bits),
        _ => None,
    }
}

/// `evt.category`: the event's category; I/O events take it from their fd's type.
fn category(ev: &Event<'_>, fd: Option<&Fd>) -> &'static str {
    let Some(info) = ev.info() else {
        return "unknown";
    };
    match info.category.kind() & !0x100 {
        1 => "other",
        2 => "file",
        3 => "net",
        4 => "IPC",
        5 => "memory",
        6 => "process",
        7 => "sleep",
        8 => "system",
        9 => "signal",
        10 => "user",
        11 => "time",
        12 => "processing",
        32..=34 => match fd.map(|f| f.kind) {
            Some(fd_type::FILE | fd_type::FILE_V2 | fd_type::DIRECTORY) => "file",
            Some(
                fd_type::IPV4_SOCK
                | fd_type::IPV6_SOCK
                | fd_type::IPV4_SERVSOCK
                | fd_type::IPV6_SERVSOCK,
            ) => "net",
            // I/O on an IPC fd is the lower-case subcategory `ipc`; upper-case `IPC` names
            // events whose own category is IPC (libsinsp, 0.29 and current alike).
            Some(
                fd_type::FIFO
                | fd_type::UNIX_SOCK
                | fd_type::EVENT
                | fd_type::SIGNALFD
                | fd_type::INOTIFY
                | fd_type::USERFAULTFD,
            ) => "ipc",
            _ => "unknown",
        },
        64 => "wait",
        128 => "scheduler",
        _ if info.category.is_internal() => "internal",
        _ => "unknown",
    }
}

fn open_mode(ev: &Event<'_>) -> Option<u32> {
    let i = ev.info()?.param_index("mode")?;
    ev.decode(i)
        .ok()?
        .as_i64()
        .and_then(|m| u32::try_from(m).ok())
}

fn cmdline(t: &Thread) -> Vec<u8> {
    let mut out = t.comm.clone();
    for a in &t.args {
        out.push(b' ');
        out.extend_from_slice(a);
    }
    out
}

fn env<'a>(t: &'a Thread, key: Option<&str>) -> Option<Value<'a>> {
    match key {
        None => Some(Value::Str(Cow::Owned(t.env.join(&b' ')))),
        Some(k) => t.env.iter().find_map(|e| {
            let rest = e.strip_prefix(k.as_bytes())?;
            let v = rest.strip_prefix(b"=")?;
            Some(Value::Str(Cow::Borrowed(v)))
        }),
    }
}

/// Capability names by bit number, as `thread.cap_*` renders them.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn caps(bits: u64) -> Value<'static> {
    let names: Vec<&str> = CAPABILITY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1u64 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    Value::Str(Cow::Owned(names.join(" ").into_bytes()))
}

fn ancestor<'a>(st: &'a State, t: &'a Thread, what: Anc, idx: Option<u64>) -> Option<Value<'a>> {
    let value = |a: &'a Thread| -> Value<'a> {
        match what {
            Anc::Name => bytes(&a.comm),
            Anc::Pid => Value::Int(a.pid),
            Anc::Exe => bytes(&a.exe),
            Anc::Exepath => bytes(&a.exepath),
            Anc::Cmdline => Value::Str(Cow::Owned(cmdline(a))),
            Anc::Env => Value::Str(Cow::Owned(a.env.join(&b' '))),
        }
    };
    match idx {
        Some(0) => Some(value(st.main_thread(t))),
        Some(n) => {
            let mut cur = st.main_thread(t);
            for _ in 0..n {
                cur = st.parent(cur)?;
            }
            Some(value(cur))
        }
        None => {
            let mut out = Vec::new();
            let mut cur = st.main_thread(t);
            // The walk is bounded: a corrupt table with a parent cycle must not loop forever.
            for _ in 0..1024 {
                match st.parent(cur) {
                    Some(p) if p.tid != cur.tid => {
                        out.push(value(p));
                        cur = p;
                    }
                    _ => break,
                }
            }
            (!out.is_empty()).then_some(Value::List(out))
        }
    }
}

/// Falco's `fd.type` names.
pub fn fd_type_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        fd_type::FILE | fd_type::FILE_V2 => "file",
        fd_type::DIRECTORY => "directory",
        fd_type::IPV4_SOCK | fd_type::IPV4_SERVSOCK => "ipv4",
        fd_type::IPV6_SOCK | fd_type::IPV6_SERVSOCK => "ipv6",
        fd_type::UNIX_SOCK => "unix",
        fd_type::FIFO => "pipe",
        fd_type::EVENT => "event",
        fd_type::SIGNALFD => "signalfd",
        fd_type::EVENTPOLL => "eventpoll",
        fd_type::INOTIFY => "inotify",
        fd_type::TIMERFD => "timerfd",
        fd_type::NETLINK => "netlink",
        fd_type::BPF => "bpf",
        fd_type::USERFAULTFD => "userfaultfd",
        fd_type::IOURING => "io_uring",
        fd_type::MEMFD => "memfd",
        fd_type::PIDFD => "pidfd",
        _ => return None,
    })
}

/// Falco's `fd.typechar` letters.
pub fn fd_typechar(kind: u8) -> &'static str {
    match kind {
        fd_type::FILE | fd_type::FILE_V2 | crate::state::FAILED_FILE => "f",
        fd_type::DIRECTORY => "d",
        fd_type::IPV4_SOCK | fd_type::IPV4_SERVSOCK => "4",
        fd_type::IPV6_SOCK | fd_type::IPV6_SERVSOCK => "6",
        fd_type::UNIX_SOCK => "u",
        fd_type::FIFO => "p",
        fd_type::EVENT => "e",
        fd_type::SIGNALFD => "s",
        fd_type::EVENTPOLL => "l",
        fd_type::INOTIFY => "i",
        fd_type::TIMERFD => "t",
        fd_type::NETLINK => "n",
        fd_type::BPF => "b",
        fd_type::USERFAULTFD => "u",
        fd_type::IOURING => "r",
        fd_type::MEMFD => "m",
        fd_type::PIDFD => "P",
        _ => "o",
    }
}

fn is_file_like(kind: u8) -> bool {
    matches!(
        kind,
        0 | fd_type::FILE | fd_type::FILE_V2 | crate::state::FAILED_FILE
    )
}

fn dirname(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b'/') {
        Some(0) | None => b"/",
        Some(i) => name.get(..i).unwrap_or(b"/"),
    }
}

fn basename(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b'/') {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    }
}

#[derive(Clone, Copy)]
enum End {
    Client,
    Server,
}

fn endpoint(f: &Fd, end: End) -> Option<(IpAddr, u16)> {
    match (&f.sock, end) {
        (SockInfo::V4 { cip, cport, .. }, End::Client) => Some((IpAddr::V4(*cip), *cport)),
        (SockInfo::V4 { sip, sport, .. }, End::Server) => Some((IpAddr::V4(*sip), *sport)),
        (SockInfo::V6 { cip, cport, .. }, End::Client) => Some((IpAddr::V6(*cip), *cport)),
        (SockInfo::V6 { sip, sport, .. }, End::Server) => Some((IpAddr::V6(*sip), *sport)),
        (SockInfo::V4Server { ip, port }, End::Server) => Some((IpAddr::V4(*ip), *port)),
        (SockInfo::V6Server { ip, port }, End::Server) => Some((IpAddr::V6(*ip), *port)),
        _ => None,
    }
}

/// `fd.is_server` as Falco 0.44 computes it on every event, from the socket's addresses and
/// not from how the socket got them: a bound or listening socket is a server; a connected (or
/// not yet connected) IP socket is one when its server end is an address of this machine, so
/// a client connecting to a local service is a server too, and a fresh socket's unset server
/// address `0.0.0.0` is not local while IPv6 `::` is (see `Interfaces::has_v6`).
fn is_server(f: &Fd, st: &State) -> bool {
    let local = st.interfaces();
    match (&f.sock, f.kind) {
        (SockInfo::V4Server { .. } | SockInfo::V6Server { .. }, _) => true,
        (SockInfo::V4 { sip, .. }, _) => local.has_v4(*sip),
        (SockInfo::V6 { sip, .. }, _) => local.has_v6(*sip),
        (SockInfo::None, fd_type::IPV4_SOCK) => local.has_v4(std::net::Ipv4Addr::UNSPECIFIED),
        (SockInfo::None, fd_type::IPV6_SOCK) => local.has_v6(std::net::Ipv6Addr::UNSPECIFIED),
        (SockInfo::None, _) => false,
    }
}

/// The local or remote end of a connected IP socket, as libsinsp picks it for `fd.lip`,
/// `fd.rip`, `fd.lport`, `fd.rport`, `fd.lnet`, `fd.rnet` and their `.name`s: the client end
/// is the local one when the client address is one of this machine's (the interface test of
/// `fd.is_server`, applied to the other end), else the server end is. The role the socket got
/// from connect or accept plays no part, so a socket first met mid-capture and an unconnected
/// UDP socket get the same answer as a fresh one. A listening socket has neither end.
fn local_remote(f: &Fd, st: &State, local: bool) -> Option<(IpAddr, u16)> {
    let ifaces = st.interfaces();
    let client_is_local = match &f.sock {
        SockInfo::V4 { cip, .. } => ifaces.has_v4(*cip),
        SockInfo::V6 { cip, .. } => ifaces.has_v6(*cip),
        _ => return None,
    };
    let end = if client_is_local == local {
        End::Client
    } else {
        End::Server
    };
    endpoint(f, end)
}

/// Whether the event is a syscall event whose flags say it touches an fd.
pub fn uses_fd(ev: &Event<'_>) -> bool {
    ev.info().is_some_and(|i| {
        i.flags.contains(EventFlags::USES_FD) || i.flags.contains(EventFlags::CREATES_FD)
    })
}
