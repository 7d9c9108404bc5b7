//! Field-name resolution (language.md §4.2) and did-you-mean suggestions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use lanner_schema::{
    FieldArg, FieldType, PathSide, ResolveError, ValueType, resolve, resolve_text, suggest,
};

fn ok(name: &str, arg: Option<&str>) -> (&'static str, Option<FieldArg>) {
    let resolved = resolve(name, arg).unwrap_or_else(|e| panic!("{name} {arg:?}: {e}"));
    (resolved.field.name, resolved.arg)
}

#[test]
fn plain_fields() {
    assert_eq!(ok("proc.name", None), ("proc.name", None));
    assert_eq!(ok("fd.typechar", None), ("fd.typechar", None));
    assert_eq!(ok("thread.cgroups", None), ("thread.cgroups", None));
    assert_eq!(ok("evt.args", None), ("evt.args", None));
    assert_eq!(ok("evt.rawtime.ns", None), ("evt.rawtime.ns", None));
    assert_eq!(
        ok("proc.is_container_healthcheck", None),
        ("proc.is_container_healthcheck", None)
    );
}

#[test]
fn event_arguments() {
    assert_eq!(
        ok("evt.arg.name", None),
        ("evt.arg", Some(FieldArg::Param("name".into())))
    );
    assert_eq!(
        ok("evt.arg.flags", None),
        ("evt.arg", Some(FieldArg::Param("flags".into())))
    );
    assert_eq!(
        ok("evt.arg", Some("0")),
        ("evt.arg", Some(FieldArg::Index(0)))
    );
    assert_eq!(
        ok("evt.rawarg.res", None),
        ("evt.rawarg", Some(FieldArg::Param("res".into())))
    );
    // evt.rawarg only has the dotted form.
    assert!(matches!(
        resolve("evt.rawarg", Some("0")),
        Err(ResolveError::BadArgument {
            field: "evt.rawarg",
            ..
        })
    ));
    assert!(matches!(
        resolve("evt.arg", Some("fd")),
        Err(ResolveError::BadIndex {
            field: "evt.arg",
            ..
        })
    ));
    assert!(matches!(
        resolve("evt.arg", None),
        Err(ResolveError::ArgumentRequired {
            field: "evt.arg",
            ..
        })
    ));
    assert!(matches!(
        resolve("evt.arg.fd", Some("0")),
        Err(ResolveError::BadArgument {
            field: "evt.arg",
            ..
        })
    ));
}

#[test]
fn dotted_arguments() {
    assert_eq!(
        ok("evt.type.is.open", None),
        ("evt.type.is", Some(FieldArg::EventName("open".into())))
    );
    assert_eq!(
        ok("evt.type.is.3", None),
        ("evt.type.is", Some(FieldArg::EventNumber(3)))
    );
    assert_eq!(
        ok("thread.cgroup.cpuacct", None),
        ("thread.cgroup", Some(FieldArg::Subsystem("cpuacct".into())))
    );
    assert_eq!(
        ok("thread.cgroup.net_cls", None),
        ("thread.cgroup", Some(FieldArg::Subsystem("net_cls".into())))
    );
    assert!(resolve("thread.cgroup", None).is_err());
    assert!(resolve("thread.cgroup", Some("cpuacct")).is_err());
    assert_eq!(ok("evt.abspath", None), ("evt.abspath", None));
    assert_eq!(
        ok("evt.abspath.dst", None),
        ("evt.abspath", Some(FieldArg::PathSide(PathSide::Dst)))
    );
    assert_eq!(
        ok("evt.abspath.src", None),
        ("evt.abspath", Some(FieldArg::PathSide(PathSide::Src)))
    );
    assert!(matches!(
        resolve("evt.abspath.foo", None),
        Err(ResolveError::BadArgument {
            field: "evt.abspath",
            ..
        })
    ));
    assert_eq!(
        ok("k8s.pod.label.app", None),
        ("k8s.pod.label", Some(FieldArg::Key("app".into())))
    );
}

#[test]
fn bracket_arguments() {
    assert_eq!(
        ok("proc.aname", Some("2")),
        ("proc.aname", Some(FieldArg::Index(2)))
    );
    assert_eq!(ok("proc.aname", None), ("proc.aname", None));
    assert_eq!(
        ok("proc.aexepath", Some("1")),
        ("proc.aexepath", Some(FieldArg::Index(1)))
    );
    assert_eq!(
        ok("proc.args", Some("0")),
        ("proc.args", Some(FieldArg::Index(0)))
    );
    assert_eq!(
        ok("proc.env", Some("HOME")),
        ("proc.env", Some(FieldArg::Key("HOME".into())))
    );
    assert_eq!(
        ok("proc.env", Some("2")),
        ("proc.env", Some(FieldArg::Index(2)))
    );
    assert_eq!(
        ok("proc.aenv", Some("PATH")),
        ("proc.aenv", Some(FieldArg::Key("PATH".into())))
    );
    assert_eq!(
        ok("container.mount.dest", Some("/var/run/docker.sock")),
        (
            "container.mount.dest",
            Some(FieldArg::Key("/var/run/docker.sock".into()))
        )
    );
    assert_eq!(
        ok("container.mount", Some("0")),
        ("container.mount", Some(FieldArg::Index(0)))
    );
    assert_eq!(
        ok("evt.around", Some("1404996934793590564")),
        ("evt.around", Some(FieldArg::Timestamp(1404996934793590564)))
    );
    // An empty argument is an argument (`test.str[""]`), not a missing one.
    assert_eq!(
        ok("container.label", Some("")),
        ("container.label", Some(FieldArg::Key(String::new())))
    );
}

#[test]
fn argument_errors() {
    let err = resolve("proc.aname", Some("abc")).unwrap_err();
    assert_eq!(
        err,
        ResolveError::BadIndex {
            field: "proc.aname",
            arg: "abc".into()
        }
    );
    assert!(matches!(
        resolve("proc.aname", Some("-1")),
        Err(ResolveError::BadIndex { .. })
    ));
    assert!(matches!(
        resolve("proc.aname", Some("")),
        Err(ResolveError::BadIndex { .. })
    ));
    assert!(matches!(
        resolve("proc.name", Some("1")),
        Err(ResolveError::ArgumentNotAllowed {
            field: "proc.name",
            ..
        })
    ));
    assert!(matches!(
        resolve("container.label", None),
        Err(ResolveError::ArgumentRequired {
            field: "container.label",
            ..
        })
    ));
    let err = resolve("container.mount.dest", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'container.mount.dest' requires an argument: container.mount.dest[N|KEY]"
    );
}

#[test]
fn unknown_fields() {
    for name in [
        "proc.namex",
        "proc.name.foo",
        "foo.bar",
        "evt.typo",
        "proc.apidx",
        "evt.arg0",
    ] {
        assert!(
            matches!(resolve(name, None), Err(ResolveError::UnknownField { .. })),
            "{name}"
        );
    }
    let err = resolve("proc.nme", None).unwrap_err();
    assert_eq!(
        err,
        ResolveError::UnknownField {
            name: "proc.nme".into(),
            suggestions: vec!["proc.name"]
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown field 'proc.nme' (did you mean 'proc.name'?)"
    );
    assert_eq!(
        resolve("nosuch.thing", None).unwrap_err().to_string(),
        "unknown field 'nosuch.thing'"
    );
}

#[test]
fn text_form() {
    let r = resolve_text("proc.aname[2]").unwrap();
    assert_eq!(r.field.name, "proc.aname");
    assert_eq!(r.arg, Some(FieldArg::Index(2)));
    assert_eq!(r.to_string(), "proc.aname[2]");
    assert_eq!(
        resolve_text("proc.env[HOME]").unwrap().to_string(),
        "proc.env[HOME]"
    );
    assert_eq!(
        resolve_text("evt.arg.fd").unwrap().to_string(),
        "evt.arg.fd"
    );
    assert_eq!(
        resolve_text("evt.arg[1]").unwrap().to_string(),
        "evt.arg[1]"
    );
    assert_eq!(
        resolve_text("thread.cgroup.cpuacct").unwrap().to_string(),
        "thread.cgroup.cpuacct"
    );
    assert!(matches!(
        resolve_text("proc.aname[2"),
        Err(ResolveError::UnclosedBracket { .. })
    ));
    assert!(matches!(
        resolve_text("proc.aname[x]"),
        Err(ResolveError::BadIndex { .. })
    ));
}

#[test]
fn resolved_types() {
    assert_eq!(
        resolve("fd.types", None).unwrap().value_type(),
        ValueType::list(FieldType::Charbuf)
    );
    assert_eq!(
        resolve("fd.types", Some("3")).unwrap().value_type(),
        ValueType::single(FieldType::Charbuf)
    );
    assert!(resolve("proc.aname", None).unwrap().matches_any_ancestor());
    assert!(
        !resolve("proc.aname", Some("1"))
            .unwrap()
            .matches_any_ancestor()
    );
}

#[test]
fn did_you_mean() {
    assert_eq!(suggest("proc.nme"), ["proc.name"]);
    assert_eq!(suggest("proc.nmae"), ["proc.name"]);
    assert_eq!(suggest("PROC.NAME"), ["proc.name"]);
    assert!(suggest("fd.nam").contains(&"fd.name"));
    assert!(suggest("evt.tpye").contains(&"evt.type"));
    assert!(suggest("container.imge").contains(&"container.image"));
    assert_eq!(suggest("proc.name.foo"), ["proc.name"]);
    assert!(suggest("zzz").is_empty());
    assert!(suggest("completely.unrelated.thing").is_empty());
}
