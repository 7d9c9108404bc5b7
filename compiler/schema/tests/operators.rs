//! Operator compatibility (language.md §3.1) checked against libsinsp's own compiler test
//! matrix (`operators_field_types_compatibility`, one row per field × operator, as recorded in
//! the reference parser cases) plus the spot examples of the language reference.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use lanner_schema::{
    FieldType, Modifier, Operator, Transformer, TransformerArg, ValueType, lookup,
    operator_allowed, operator_allowed_with,
};

/// (field, operator, modifier, accepted by libsinsp)
const MATRIX: &[(&str, &str, Option<&str>, bool)] = &[
    ("evt.rawtime", "exists", None, true),
    ("evt.rawtime", "=", None, true),
    ("evt.rawtime", "!=", None, true),
    ("evt.rawtime", "<", None, true),
    ("evt.rawtime", "<=", None, true),
    ("evt.rawtime", ">", None, true),
    ("evt.rawtime", ">=", None, true),
    ("evt.rawtime", "contains", None, false),
    ("evt.rawtime", "in", None, true),
    ("evt.rawtime", "intersects", None, true),
    ("evt.rawtime", "icontains", None, false),
    ("evt.rawtime", "startswith", None, false),
    ("evt.rawtime", "glob", None, false),
    ("evt.rawtime", "pmatch", None, false),
    ("evt.rawtime", "endswith", None, false),
    ("evt.rawtime", "bcontains", None, false),
    ("evt.rawtime", "bstartswith", None, false),
    ("evt.rawtime", "iglob", None, false),
    ("evt.rawtime", "regex", None, false),
    ("evt.is_io", "exists", None, true),
    ("evt.is_io", "=", None, true),
    ("evt.is_io", "!=", None, true),
    ("evt.is_io", "<", None, false),
    ("evt.is_io", "<=", None, false),
    ("evt.is_io", ">", None, false),
    ("evt.is_io", ">=", None, false),
    ("evt.is_io", "contains", None, false),
    ("evt.is_io", "in", None, true),
    ("evt.is_io", "intersects", None, true),
    ("evt.is_io", "icontains", None, false),
    ("evt.is_io", "startswith", None, false),
    ("evt.is_io", "glob", None, false),
    ("evt.is_io", "pmatch", None, false),
    ("evt.is_io", "endswith", None, false),
    ("evt.is_io", "bcontains", None, false),
    ("evt.is_io", "bstartswith", None, false),
    ("evt.is_io", "iglob", None, false),
    ("evt.is_io", "regex", None, false),
    ("evt.buffer", "exists", None, true),
    ("evt.buffer", "=", None, true),
    ("evt.buffer", "!=", None, true),
    ("evt.buffer", "<", None, false),
    ("evt.buffer", "<=", None, false),
    ("evt.buffer", ">", None, false),
    ("evt.buffer", ">=", None, false),
    ("evt.buffer", "contains", None, true),
    ("evt.buffer", "in", None, true),
    ("evt.buffer", "intersects", None, true),
    ("evt.buffer", "icontains", None, false),
    ("evt.buffer", "startswith", None, true),
    ("evt.buffer", "glob", None, false),
    ("evt.buffer", "pmatch", None, false),
    ("evt.buffer", "endswith", None, true),
    ("evt.buffer", "bcontains", None, true),
    ("evt.buffer", "bstartswith", None, true),
    ("evt.buffer", "iglob", None, false),
    ("evt.buffer", "regex", None, false),
    ("fd.name", "exists", None, true),
    ("fd.name", "=", None, true),
    ("fd.name", "!=", None, true),
    ("fd.name", "<", None, true),
    ("fd.name", "<=", None, true),
    ("fd.name", ">", None, true),
    ("fd.name", ">=", None, true),
    ("fd.name", "contains", None, true),
    ("fd.name", "in", None, true),
    ("fd.name", "intersects", None, true),
    ("fd.name", "icontains", None, true),
    ("fd.name", "startswith", None, true),
    ("fd.name", "glob", None, true),
    ("fd.name", "pmatch", None, true),
    ("fd.name", "endswith", None, true),
    ("fd.name", "bcontains", None, false),
    ("fd.name", "bstartswith", None, false),
    ("fd.name", "iglob", None, true),
    ("fd.name", "regex", None, true),
    ("thread.cpu", "exists", None, true),
    ("thread.cpu", "=", None, true),
    ("thread.cpu", "!=", None, true),
    ("thread.cpu", "<", None, true),
    ("thread.cpu", "<=", None, true),
    ("thread.cpu", ">", None, true),
    ("thread.cpu", ">=", None, true),
    ("thread.cpu", "contains", None, false),
    ("thread.cpu", "in", None, true),
    ("thread.cpu", "intersects", None, true),
    ("thread.cpu", "icontains", None, false),
    ("thread.cpu", "startswith", None, false),
    ("thread.cpu", "glob", None, false),
    ("thread.cpu", "pmatch", None, false),
    ("thread.cpu", "endswith", None, false),
    ("thread.cpu", "bcontains", None, false),
    ("thread.cpu", "bstartswith", None, false),
    ("thread.cpu", "iglob", None, false),
    ("thread.cpu", "regex", None, false),
    ("evt.cpu", "exists", None, true),
    ("evt.cpu", "=", None, true),
    ("evt.cpu", "!=", None, true),
    ("evt.cpu", "<", None, true),
    ("evt.cpu", "<=", None, true),
    ("evt.cpu", ">", None, true),
    ("evt.cpu", ">=", None, true),
    ("evt.cpu", "contains", None, false),
    ("evt.cpu", "in", None, true),
    ("evt.cpu", "intersects", None, true),
    ("evt.cpu", "icontains", None, false),
    ("evt.cpu", "startswith", None, false),
    ("evt.cpu", "glob", None, false),
    ("evt.cpu", "pmatch", None, false),
    ("evt.cpu", "endswith", None, false),
    ("evt.cpu", "bcontains", None, false),
    ("evt.cpu", "bstartswith", None, false),
    ("evt.cpu", "iglob", None, false),
    ("evt.cpu", "regex", None, false),
    ("fd.dev", "exists", None, true),
    ("fd.dev", "=", None, true),
    ("fd.dev", "!=", None, true),
    ("fd.dev", "<", None, true),
    ("fd.dev", "<=", None, true),
    ("fd.dev", ">", None, true),
    ("fd.dev", ">=", None, true),
    ("fd.dev", "contains", None, false),
    ("fd.dev", "in", None, true),
    ("fd.dev", "intersects", None, true),
    ("fd.dev", "icontains", None, false),
    ("fd.dev", "startswith", None, false),
    ("fd.dev", "glob", None, false),
    ("fd.dev", "pmatch", None, false),
    ("fd.dev", "endswith", None, false),
    ("fd.dev", "bcontains", None, false),
    ("fd.dev", "bstartswith", None, false),
    ("fd.dev", "iglob", None, false),
    ("fd.dev", "regex", None, false),
    ("proc.pid", "exists", None, true),
    ("proc.pid", "=", None, true),
    ("proc.pid", "!=", None, true),
    ("proc.pid", "<", None, true),
    ("proc.pid", "<=", None, true),
    ("proc.pid", ">", None, true),
    ("proc.pid", ">=", None, true),
    ("proc.pid", "contains", None, false),
    ("proc.pid", "in", None, true),
    ("proc.pid", "intersects", None, true),
    ("proc.pid", "icontains", None, false),
    ("proc.pid", "startswith", None, false),
    ("proc.pid", "glob", None, false),
    ("proc.pid", "pmatch", None, false),
    ("proc.pid", "endswith", None, false),
    ("proc.pid", "bcontains", None, false),
    ("proc.pid", "bstartswith", None, false),
    ("proc.pid", "iglob", None, false),
    ("proc.pid", "regex", None, false),
    ("fd.ip", "exists", None, true),
    ("fd.ip", "=", None, true),
    ("fd.ip", "!=", None, true),
    ("fd.ip", "<", None, false),
    ("fd.ip", "<=", None, false),
    ("fd.ip", ">", None, false),
    ("fd.ip", ">=", None, false),
    ("fd.ip", "contains", None, false),
    ("fd.ip", "in", None, true),
    ("fd.ip", "intersects", None, true),
    ("fd.ip", "icontains", None, false),
    ("fd.ip", "startswith", None, false),
    ("fd.ip", "glob", None, false),
    ("fd.ip", "pmatch", None, false),
    ("fd.ip", "endswith", None, false),
    ("fd.ip", "bcontains", None, false),
    ("fd.ip", "bstartswith", None, false),
    ("fd.ip", "iglob", None, false),
    ("fd.ip", "regex", None, false),
    ("fd.ip", "==", Some("anyof"), true),
    ("fd.ip", "==", Some("allof"), true),
    ("fd.ip", "!=", Some("anyof"), true),
    ("fd.ip", "!=", Some("allof"), true),
    ("fd.ip", "contains", Some("anyof"), false),
    ("fd.ip", "regex", Some("allof"), false),
    ("fd.net", "exists", None, true),
    ("fd.net", "=", None, true),
    ("fd.net", "!=", None, true),
    ("fd.net", "<", None, false),
    ("fd.net", "<=", None, false),
    ("fd.net", ">", None, false),
    ("fd.net", ">=", None, false),
    ("fd.net", "contains", None, false),
    ("fd.net", "in", None, true),
    ("fd.net", "intersects", None, true),
    ("fd.net", "icontains", None, false),
    ("fd.net", "startswith", None, false),
    ("fd.net", "glob", None, false),
    ("fd.net", "pmatch", None, false),
    ("fd.net", "endswith", None, false),
    ("fd.net", "bcontains", None, false),
    ("fd.net", "bstartswith", None, false),
    ("fd.net", "iglob", None, false),
    ("fd.net", "regex", None, false),
    ("fd.net", "==", Some("anyof"), true),
    ("fd.net", "==", Some("allof"), true),
    ("fd.net", "!=", Some("anyof"), true),
    ("fd.net", "!=", Some("allof"), true),
    ("fd.net", "contains", Some("anyof"), false),
    ("fd.net", "startswith", Some("allof"), false),
    ("fd.port", "exists", None, true),
    ("fd.port", "=", None, true),
    ("fd.port", "!=", None, true),
    ("fd.port", "<", None, true),
    ("fd.port", "<=", None, true),
    ("fd.port", ">", None, true),
    ("fd.port", ">=", None, true),
    ("fd.port", "contains", None, false),
    ("fd.port", "in", None, true),
    ("fd.port", "intersects", None, true),
    ("fd.port", "icontains", None, false),
    ("fd.port", "startswith", None, false),
    ("fd.port", "glob", None, false),
    ("fd.port", "pmatch", None, false),
    ("fd.port", "endswith", None, false),
    ("fd.port", "bcontains", None, false),
    ("fd.port", "bstartswith", None, false),
    ("fd.port", "iglob", None, false),
    ("fd.port", "regex", None, false),
    ("proc.pid.ts", "exists", None, true),
    ("proc.pid.ts", "=", None, true),
    ("proc.pid.ts", "!=", None, true),
    ("proc.pid.ts", "<", None, true),
    ("proc.pid.ts", "<=", None, true),
    ("proc.pid.ts", ">", None, true),
    ("proc.pid.ts", ">=", None, true),
    ("proc.pid.ts", "contains", None, false),
    ("proc.pid.ts", "in", None, true),
    ("proc.pid.ts", "intersects", None, true),
    ("proc.pid.ts", "icontains", None, false),
    ("proc.pid.ts", "startswith", None, false),
    ("proc.pid.ts", "glob", None, false),
    ("proc.pid.ts", "pmatch", None, false),
    ("proc.pid.ts", "endswith", None, false),
    ("proc.pid.ts", "bcontains", None, false),
    ("proc.pid.ts", "bstartswith", None, false),
    ("proc.pid.ts", "iglob", None, false),
    ("proc.pid.ts", "regex", None, false),
    ("evt.count", "exists", None, true),
    ("evt.count", "=", None, true),
    ("evt.count", "!=", None, true),
    ("evt.count", "<", None, true),
    ("evt.count", "<=", None, true),
    ("evt.count", ">", None, true),
    ("evt.count", ">=", None, true),
    ("evt.count", "contains", None, false),
    ("evt.count", "in", None, true),
    ("evt.count", "intersects", None, true),
    ("evt.count", "icontains", None, false),
    ("evt.count", "startswith", None, false),
    ("evt.count", "glob", None, false),
    ("evt.count", "pmatch", None, false),
    ("evt.count", "endswith", None, false),
    ("evt.count", "bcontains", None, false),
    ("evt.count", "bstartswith", None, false),
    ("evt.count", "iglob", None, false),
    ("evt.count", "regex", None, false),
    ("evt.num", "exists", None, true),
    ("evt.num", "=", None, true),
    ("evt.num", "!=", None, true),
    ("evt.num", "<", None, true),
    ("evt.num", "<=", None, true),
    ("evt.num", ">", None, true),
    ("evt.num", ">=", None, true),
    ("evt.num", "contains", None, false),
    ("evt.num", "in", None, true),
    ("evt.num", "intersects", None, true),
    ("evt.num", "icontains", None, false),
    ("evt.num", "startswith", None, false),
    ("evt.num", "glob", None, false),
    ("evt.num", "pmatch", None, false),
    ("evt.num", "endswith", None, false),
    ("evt.num", "bcontains", None, false),
    ("evt.num", "bstartswith", None, false),
    ("evt.num", "iglob", None, false),
    ("evt.num", "regex", None, false),
];

#[test]
fn libsinsp_operator_matrix() {
    let mut checked = 0;
    for &(name, op, modifier, expected) in MATRIX {
        let field = lookup(name).unwrap();
        let op: Operator = op.parse().unwrap();
        let modifier = modifier.map(|m| m.parse::<Modifier>().unwrap());
        let got = operator_allowed_with(field.ty, field.is_list, op, modifier);
        assert_eq!(got, expected, "{name} {op} {modifier:?}");
        checked += 1;
    }
    assert_eq!(checked, 278);
}

#[test]
fn numeric_types() {
    for ty in [
        FieldType::Int8,
        FieldType::Uint64,
        FieldType::Errno,
        FieldType::Pid,
        FieldType::RelTime,
        FieldType::AbsTime,
        FieldType::Port,
        FieldType::Flags32,
        FieldType::EnumFlags8,
        FieldType::Mode,
        FieldType::Double,
    ] {
        for op in [
            "=",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "in",
            "intersects",
            "exists",
        ] {
            assert!(
                operator_allowed(ty, false, op.parse().unwrap()),
                "{ty} {op}"
            );
        }
        for op in [
            "contains",
            "icontains",
            "startswith",
            "glob",
            "pmatch",
            "regex",
            "bcontains",
        ] {
            assert!(
                !operator_allowed(ty, false, op.parse().unwrap()),
                "{ty} {op}"
            );
        }
    }
}

#[test]
fn strings_take_everything_but_byte_operators() {
    for ty in [FieldType::Charbuf, FieldType::FsPath, FieldType::FsRelPath] {
        for op in Operator::ALL {
            let expected = !matches!(op, Operator::BContains | Operator::BStartsWith);
            assert_eq!(operator_allowed(ty, false, *op), expected, "{ty} {op}");
        }
    }
}

#[test]
fn bytebuf() {
    let allowed = [
        "=",
        "==",
        "!=",
        "contains",
        "startswith",
        "endswith",
        "bcontains",
        "bstartswith",
        "in",
        "intersects",
        "exists",
    ];
    for op in Operator::ALL {
        let expected = allowed.contains(&op.as_str());
        assert_eq!(
            operator_allowed(FieldType::Bytebuf, false, *op),
            expected,
            "{op}"
        );
    }
}

#[test]
fn lists_take_only_set_operators() {
    let fd_types = lookup("fd.types").unwrap();
    assert!(fd_types.is_list);
    for op in Operator::ALL {
        let expected = matches!(op, Operator::In | Operator::Intersects | Operator::Exists);
        assert_eq!(operator_allowed(fd_types.ty, true, *op), expected, "{op}");
    }
    // A modifier never fits a list field: it needs a string operator.
    assert!(!operator_allowed_with(
        FieldType::Charbuf,
        true,
        Operator::EqEq,
        Some(Modifier::AnyOf)
    ));
}

#[test]
fn other_types_only_exist() {
    for ty in [FieldType::Dyn, FieldType::SockAddr, FieldType::SockTuple] {
        for op in Operator::ALL {
            assert_eq!(
                operator_allowed(ty, false, *op),
                *op == Operator::Exists,
                "{ty} {op}"
            );
        }
    }
}

#[test]
fn modifiers() {
    // `proc.name startswith anyof (a, b)` and `fd.ip != allof (...)` from §3.2.
    assert!(operator_allowed_with(
        FieldType::Charbuf,
        false,
        Operator::StartsWith,
        Some(Modifier::AnyOf)
    ));
    assert!(operator_allowed_with(
        FieldType::IpAddr,
        false,
        Operator::Ne,
        Some(Modifier::AllOf)
    ));
    assert!(operator_allowed_with(
        FieldType::IpNet,
        false,
        Operator::Eq,
        Some(Modifier::OneOf)
    ));
    // Not with list operators, relational operators or exists.
    for op in [
        Operator::In,
        Operator::Intersects,
        Operator::PMatch,
        Operator::Ge,
        Operator::Exists,
    ] {
        assert!(
            !operator_allowed_with(FieldType::Charbuf, false, op, Some(Modifier::OneOf)),
            "{op}"
        );
    }
    // The operator must still suit the type.
    assert!(!operator_allowed_with(
        FieldType::Uint64,
        false,
        Operator::Contains,
        Some(Modifier::AnyOf)
    ));
    assert!(operator_allowed_with(
        FieldType::Uint64,
        false,
        Operator::EqEq,
        Some(Modifier::AnyOf)
    ));
}

#[test]
fn operator_spellings_round_trip() {
    for op in Operator::ALL {
        assert_eq!(op.as_str().parse::<Operator>().unwrap(), *op);
    }
    assert!("===".parse::<Operator>().is_err());
    for m in Modifier::ALL {
        assert_eq!(m.as_str().parse::<Modifier>().unwrap(), *m);
    }
}

#[test]
fn transformed_types_drive_the_check() {
    // `len(fd.name) > 3` is numeric after the transformer.
    let fd_name = lookup("fd.name").unwrap().value_type();
    let len = Transformer::Len.apply(fd_name).unwrap();
    assert_eq!(len, ValueType::single(FieldType::Uint64));
    assert!(operator_allowed(len.ty, len.is_list, Operator::Gt));
    assert!(!operator_allowed(
        fd_name.ty,
        fd_name.is_list,
        Operator::BContains
    ));
}

fn field(name: &str) -> TransformerArg {
    TransformerArg::Value(lookup(name).unwrap().value_type())
}

#[test]
fn transformer_inputs_and_outputs() {
    let s = ValueType::single(FieldType::Charbuf);
    let path = ValueType::single(FieldType::FsPath);
    let buf = ValueType::single(FieldType::Bytebuf);
    let int = ValueType::single(FieldType::Int64);

    for t in [
        Transformer::ToLower,
        Transformer::ToUpper,
        Transformer::Basename,
    ] {
        assert_eq!(t.apply(s).unwrap(), s);
        assert_eq!(t.apply(path).unwrap(), path);
        assert!(t.apply(buf).is_err(), "{t}");
        assert!(t.apply(int).is_err(), "{t}");
    }
    assert_eq!(Transformer::B64.apply(buf).unwrap(), buf);
    assert_eq!(Transformer::B64.apply(s).unwrap(), s);
    assert!(Transformer::B64.apply(path).is_err());
    // `toupper(evt.rawres)`, `b64(evt.rawres)` are rejected by libsinsp.
    let rawres = lookup("evt.rawres").unwrap().value_type();
    assert!(Transformer::ToUpper.apply(rawres).is_err());
    assert!(Transformer::B64.apply(rawres).is_err());

    let uint = ValueType::single(FieldType::Uint64);
    assert_eq!(Transformer::Len.apply(buf).unwrap(), uint);
    assert_eq!(
        Transformer::Len
            .apply(ValueType::list(FieldType::Charbuf))
            .unwrap(),
        uint
    );
    assert!(Transformer::Len.apply(int).is_err());
    assert_eq!(Transformer::Val.apply(int).unwrap(), int);
}

#[test]
fn multi_value_transformers() {
    use TransformerArg::{List, Literal};
    let join = Transformer::Join;
    assert_eq!(
        join.apply_call(&[Literal, List(vec![field("proc.name"), Literal])], None)
            .unwrap(),
        ValueType::single(FieldType::Charbuf)
    );
    assert!(join.apply_call(&[Literal, field("fd.types")], None).is_ok());
    assert!(join.apply_call(&[Literal, List(vec![])], None).is_ok());
    // The rejected shapes of libsinsp's join tests.
    assert!(join.apply_call(&[Literal], None).is_err());
    assert!(join.apply_call(&[Literal, Literal, Literal], None).is_err());
    assert!(
        join.apply_call(&[field("fd.types"), List(vec![Literal, Literal])], None)
            .is_err()
    );
    assert!(
        join.apply_call(&[List(vec![Literal]), List(vec![Literal])], None)
            .is_err()
    );
    assert!(
        join.apply_call(&[List(vec![Literal]), Literal], None)
            .is_err()
    );
    assert!(join.apply_call(&[Literal, Literal], None).is_err());

    let concat = Transformer::Concat;
    assert!(
        concat
            .apply_call(&[field("proc.name"), Literal, field("fd.name")], None)
            .is_ok()
    );
    assert!(concat.apply_call(&[Literal], None).is_err());
    assert!(
        concat
            .apply_call(&[field("fd.types"), Literal], None)
            .is_err()
    );
    assert!(
        concat
            .apply_call(&[List(vec![Literal]), Literal], None)
            .is_err()
    );
    assert!(
        concat
            .apply_call(&[Literal, List(vec![Literal])], None)
            .is_err()
    );

    let getopt = Transformer::Getopt;
    let args = [List(vec![Literal, Literal]), Literal];
    assert_eq!(
        getopt.apply_call(&args, None).unwrap(),
        ValueType::list(FieldType::Charbuf)
    );
    assert_eq!(
        getopt.apply_call(&args, Some("n")).unwrap(),
        ValueType::single(FieldType::Charbuf)
    );
    assert!(getopt.apply_call(&args, Some("")).is_err());
    assert!(getopt.apply_call(&[List(vec![Literal])], None).is_err());
    assert!(
        getopt
            .apply_call(&[List(vec![Literal]), Literal, Literal], None)
            .is_err()
    );
    assert!(getopt.apply_call(&[Literal, Literal], None).is_err());
    assert!(
        getopt
            .apply_call(&[List(vec![Literal]), List(vec![Literal])], None)
            .is_err()
    );

    // Only getopt takes a trailing [arg]: `toupper(fd.name)[x]`, `val(proc.name)[x]`.
    assert!(
        Transformer::ToUpper
            .apply_call(&[field("fd.name")], Some("x"))
            .is_err()
    );
    assert!(
        Transformer::Val
            .apply_call(&[field("proc.name")], Some("x"))
            .is_err()
    );
    assert!(
        Transformer::ToUpper
            .apply_call(&[field("fd.name")], None)
            .is_ok()
    );
}
