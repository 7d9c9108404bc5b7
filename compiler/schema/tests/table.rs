//! The static table against its source data: every field of data/fields.json is present with
//! the same type, list-ness, argument rule, class, flags and deprecation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use lanner_schema::{
    ArgPresence, Deprecation, FieldClass, FieldFlags, FieldType, FilterCheck, Provider, classes,
    fields, fields_of_class, lookup,
};
use serde_json::Value;

fn reference() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/fields.json");
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

#[test]
fn every_reference_field_is_present_with_its_properties() {
    let reference = reference();
    assert_eq!(reference.len(), 294);
    assert_eq!(fields().len(), reference.len());
    for (position, entry) in reference.iter().enumerate() {
        let name = entry["name"].as_str().unwrap();
        let field = lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        // Registration order is preserved, which resolution relies on.
        assert_eq!(fields()[position].name, name);
        assert_eq!(field.ty.as_str(), entry["type"].as_str().unwrap(), "{name}");
        assert_eq!(field.is_list, entry["is_list"].as_bool().unwrap(), "{name}");
        assert_eq!(
            field.arg.presence.as_str(),
            entry["arg"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            field.class.as_str(),
            entry["class"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            field.source_agnostic,
            entry["source_agnostic"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(
            field.print_format.as_str(),
            entry["print_format"].as_str().unwrap()
        );
        for flag in entry["flags"].as_array().unwrap() {
            let flag = FieldFlags::from_name(flag.as_str().unwrap()).unwrap();
            assert!(field.flags.contains(flag), "{name}: {flag:?}");
        }
        let listed = entry["flags"].as_array().unwrap().len();
        let hidden = usize::from(field.flags.contains(FieldFlags::HIDDEN));
        assert_eq!(field.flags.names().count(), listed + hidden, "{name}");
        assert_eq!(
            field.deprecation.is_deprecated(),
            entry["deprecated"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(
            field.deprecation == Deprecation::Warned,
            entry["falco_warns_deprecated"].as_bool().unwrap(),
            "{name}"
        );
        let provider = entry["provider"].as_str().unwrap();
        assert_eq!(
            field.provider == Provider::ContainerPlugin,
            provider.starts_with("container plugin"),
            "{name}"
        );
        assert!(!field.description.is_empty(), "{name}");
        assert_ne!(
            field.description,
            entry["description"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn spot_checks() {
    let name = lookup("proc.name").unwrap();
    assert_eq!(name.ty, FieldType::Charbuf);
    assert_eq!(name.class, FieldClass::Proc);
    assert_eq!(name.check, FilterCheck::Process);

    let aname = lookup("proc.aname").unwrap();
    assert_eq!(aname.arg.presence, ArgPresence::Optional);
    assert!(aname.any_ancestor);
    assert!(
        aname
            .flags
            .contains(FieldFlags::NO_RHS | FieldFlags::NO_TRANSFORMER)
    );
    assert!(aname.aliases.contains(&"proc.aname[1] = proc.pname"));

    let ip = lookup("fd.ip").unwrap();
    assert_eq!(ip.ty, FieldType::IpAddr);
    assert!(!ip.usable_in_output());
    assert!(!ip.usable_as_rhs());

    assert_eq!(lookup("fd.net").unwrap().ty, FieldType::IpNet);
    assert_eq!(lookup("fd.sport").unwrap().ty, FieldType::Port);
    assert_eq!(lookup("evt.buffer").unwrap().ty, FieldType::Bytebuf);
    assert_eq!(lookup("evt.rawarg").unwrap().ty, FieldType::Dyn);
    assert_eq!(lookup("thread.cpu").unwrap().ty, FieldType::Double);
    assert!(lookup("fd.types").unwrap().is_list);
    assert!(!lookup("evt.outputtime").unwrap().usable_in_filter());
    assert!(
        lookup("util.cnt")
            .unwrap()
            .flags
            .contains(FieldFlags::HIDDEN)
    );
    assert_eq!(lookup("evt.num").unwrap().check, FilterCheck::GenericEvt);
    assert_eq!(lookup("evt.type").unwrap().check, FilterCheck::SyscallEvt);
    assert_eq!(lookup("evt.dir").unwrap().deprecation, Deprecation::Warned);
    assert_eq!(
        lookup("k8s.rc.name").unwrap().deprecation,
        Deprecation::Deprecated
    );
    assert_eq!(
        lookup("container.id").unwrap().provider,
        Provider::ContainerPlugin
    );
    assert_eq!(lookup("k8s.pod.id").unwrap().aliases, &["k8s.pod.uid"]);
    assert_eq!(
        lookup("container.label").unwrap().display_name(),
        "container.label[KEY]"
    );
    assert_eq!(
        lookup("evt.arg").unwrap().display_name(),
        "evt.arg[N]|.NAME"
    );
}

#[test]
fn exact_lookup_is_exact() {
    assert!(lookup("proc.nam").is_none());
    assert!(lookup("proc.namex").is_none());
    assert!(lookup("proc.aname[2]").is_none());
    assert!(lookup("PROC.NAME").is_none());
    assert!(lookup("").is_none());
    for field in fields() {
        assert_eq!(lookup(field.name).unwrap().name, field.name);
    }
}

#[test]
fn classes_in_order() {
    let names: Vec<&str> = classes().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "evt",
            "proc",
            "thread",
            "user",
            "group",
            "fd",
            "fs.path",
            "util",
            "fdlist",
            "container",
            "k8s"
        ]
    );
    let total: usize = classes()
        .into_iter()
        .map(|c| fields_of_class(c).count())
        .sum();
    assert_eq!(total, 294);
    assert_eq!(fields_of_class(FieldClass::Evt).count(), 76);
}

#[test]
fn type_spellings_round_trip() {
    for ty in FieldType::ALL {
        assert_eq!(ty.as_str().parse::<FieldType>().unwrap(), *ty);
    }
    assert!("STRING".parse::<FieldType>().is_err());
}

#[test]
fn completion() {
    let names: Vec<&str> = lanner_schema::complete("proc.ex").map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "proc.exe",
            "proc.exepath",
            "proc.exeline",
            "proc.exe_ino",
            "proc.exe_ino.ctime",
            "proc.exe_ino.mtime",
            "proc.exe_ino.ctime_duration_proc_start",
            "proc.exe_ino.ctime_duration_pidns_start"
        ]
    );
    assert_eq!(lanner_schema::complete("").count(), 293);
    assert_eq!(lanner_schema::complete("util.").count(), 0);
}

/// INVARIANT: `FieldId`'s discriminants are the positions in the table, so `FieldId::info`
/// can index it.
#[test]
fn field_ids_index_the_table() {
    assert_eq!(
        lanner_schema::FieldId::ALL.len(),
        lanner_schema::fields().len()
    );
    for (i, id) in lanner_schema::FieldId::ALL.iter().enumerate() {
        assert_eq!(*id as usize, i);
        assert_eq!(id.info().id, Some(*id));
        assert_eq!(lanner_schema::fields()[i].id, Some(*id));
    }
}
