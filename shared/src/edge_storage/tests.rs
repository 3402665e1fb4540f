use super::*;

fn new_volume(dir: &Path) -> Volume {
    Volume::open_for_write(dir, &WriteOptions::new("shard-a")).unwrap()
}

fn inst(state: &str) -> InstanceRecord {
    InstanceRecord {
        state: state.into(),
        version: 1,
        created_at_ms: 1,
        updated_at_ms: 1,
        last_seq: 1,
        last_event_id: "e1".into(),
        data: "{}".into(),
        timers: vec![],
        history: vec![],
    }
}

#[test]
fn a_new_volume_records_format_shard_and_creation() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    v.read(|r| {
        assert_eq!(r.format_version()?, FORMAT_VERSION);
        assert_eq!(r.meta_str(meta::SHARD_ID)?.as_deref(), Some("shard-a"));
        assert!(r.meta_u64(meta::CREATED_AT)?.unwrap() > 0);
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

#[test]
fn writes_are_atomic_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    v.write(|w| {
        w.put_instance("t1", "order", "o1", &inst("new"), true)?;
        w.put_instance("t1", "order", "o2", &inst("new"), true)?;
        w.put_dedupe(
            "t1",
            "order",
            "e1",
            &DedupeRecord {
                seq: 1,
                at_ms: 1,
                outcome: Outcome::Applied,
                digest: 0,
            },
        )?;
        w.put_dedupe(
            "t1",
            "order",
            "e1",
            &DedupeRecord {
                seq: 1,
                at_ms: 2,
                outcome: Outcome::Applied,
                digest: 0,
            },
        )?;
        w.set_checkpoint(
            "t1",
            "order",
            &Checkpoint {
                seq: 7,
                updated_at_ms: 1,
            },
        )?;
        w.set_checkpoint(
            "t1",
            "order",
            &Checkpoint {
                seq: 8,
                updated_at_ms: 1,
            },
        )?;
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // A failing closure leaves nothing behind.
    let r: Result<(), StorageError> = v.write(|w| {
        w.put_instance("t1", "order", "o3", &inst("new"), true)?;
        Err(StorageError::Corrupt("boom".into()))
    });
    assert!(r.is_err());
    v.read(|r| {
        assert_eq!(r.count("t1", "order", TableCode::Sagas)?, 2);
        assert_eq!(r.count("t1", "order", TableCode::Dedupe)?, 1);
        assert_eq!(r.count("t1", "order", TableCode::Checkpoints)?, 1);
        assert_eq!(r.entries(TableId::Sagas)?, 2);
        assert!(r.instance("t1", "order", "o3")?.is_none());
        assert_eq!(r.checkpoint("t1", "order")?.unwrap().seq, 8);
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

#[test]
fn outbox_keeps_write_order_and_counts_per_tenant() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    let entry = |t: &str, n: u8| OutboxEntry {
        kind: OutboxKind::Command,
        subject: format!("cmd.{t}.x"),
        msg_id: format!("{t}-{n}"),
        headers: vec![],
        payload: vec![n],
        tenant: t.into(),
        saga: "order".into(),
        created_at_ms: 0,
        cause_seq: 0,
    };
    v.write(|w| {
        for n in 0..3 {
            w.push_outbox(&entry("t2", n))?;
            w.push_outbox(&entry("t1", n))?;
        }
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // Sequences continue across transactions.
    v.write(|w| w.push_outbox(&entry("t1", 9)).map(drop))
        .unwrap();
    let batch = v.read(|r| r.outbox_batch(None, 100)).unwrap();
    let ids: Vec<_> = batch.iter().map(|(_, e)| e.msg_id.as_str()).collect();
    assert_eq!(
        ids,
        ["t2-0", "t1-0", "t2-1", "t1-1", "t2-2", "t1-2", "t1-9"]
    );
    let paged = v.read(|r| r.outbox_batch(Some(&batch[2].0), 2)).unwrap();
    assert_eq!(paged[0].1.msg_id, "t1-1");
    assert_eq!(paged.len(), 2);
    v.write(|w| {
        for (k, e) in batch.iter().filter(|(_, e)| e.tenant == "t1") {
            assert!(w.delete_outbox(k, &e.tenant, &e.saga)?);
        }
        Ok::<_, StorageError>(())
    })
    .unwrap();
    v.read(|r| {
        assert_eq!(r.count("t1", "order", TableCode::Outbox)?, 0);
        assert_eq!(r.count("t2", "order", TableCode::Outbox)?, 3);
        Ok::<_, StorageError>(())
    })
    .unwrap();
}

#[test]
fn due_timers_come_earliest_first_and_stop_at_now() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    let rec = ScheduleRecord {
        fire: "Timeout".into(),
        armed_at_ms: 0,
        armed_by: "e".into(),
        cause_seq: 0,
    };
    v.write(|w| {
        w.put_schedule("t1", "order", 300, "o3", "pay", &rec)?;
        w.put_schedule("t1", "order", 100, "o1", "pay", &rec)?;
        w.put_schedule("t1", "order", 200, "o2", "pay", &rec)?;
        w.put_schedule("t1", "other", 50, "x", "pay", &rec)?;
        Ok::<_, StorageError>(())
    })
    .unwrap();
    let due = v.read(|r| r.due_timers("t1", "order", 250, 10)).unwrap();
    let keys: Vec<_> = due.iter().map(|(d, _)| d.key.as_str()).collect();
    assert_eq!(keys, ["o1", "o2"]);
    assert_eq!(
        v.read(|r| r.next_timer("t1", "order")).unwrap().unwrap().0,
        100
    );
}

#[test]
fn a_second_writer_is_refused_with_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let _v = new_volume(tmp.path());
    let e = Volume::open_for_write(tmp.path(), &WriteOptions::new("shard-a")).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            StorageError::Held {
                holder: Some(_),
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("shard shard-a"), "{msg}");
}

#[test]
fn read_only_opens_refuse_live_volumes_see_data_and_cannot_write() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    v.write(|w| w.put_instance("t1", "s", "k", &inst("a"), true))
        .unwrap();
    let e = Volume::open_read_only(tmp.path(), false).unwrap_err();
    assert!(matches!(e, StorageError::Held { .. }), "{e}");
    assert!(e.to_string().contains("shard shard-a"), "{e}");
    // (Reading a live volume with allow_live needs a second process: MDBX refuses a second
    // open of one environment inside a process. The end-to-end tests cover it.)
    drop(v);
    let (ro, holder) = Volume::open_read_only(tmp.path(), false).unwrap();
    assert!(holder.is_none());
    assert_eq!(
        ro.read(|r| r.instance("t1", "s", "k"))
            .unwrap()
            .unwrap()
            .state,
        "a"
    );
    assert!(ro.write(|w| w.set_meta_u64("x", 1)).is_err());
}

#[test]
fn shard_mismatch_and_newer_formats_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let v = new_volume(tmp.path());
        drop(v);
    }
    let e = Volume::open_for_write(tmp.path(), &WriteOptions::new("shard-b")).unwrap_err();
    assert!(e.to_string().contains("belongs to shard 'shard-a'"), "{e}");
    {
        let v = new_volume(tmp.path());
        v.write(|w| w.set_meta_raw(meta::FORMAT_VERSION, &(FORMAT_VERSION + 1).to_be_bytes()))
            .unwrap();
    }
    let e = Volume::open_for_write(tmp.path(), &WriteOptions::new("shard-a")).unwrap_err();
    assert!(matches!(e, StorageError::NewerFormat { .. }), "{e}");
    let e = Volume::open_read_only(tmp.path(), false).unwrap_err();
    assert!(matches!(e, StorageError::NewerFormat { .. }), "{e}");
}

#[test]
fn wrong_paths_get_specific_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert!(matches!(
        Volume::open_read_only(&missing, false),
        Err(StorageError::NotFound(_))
    ));
    let file = tmp.path().join("file");
    std::fs::write(&file, b"hello").unwrap();
    let e = Volume::open_read_only(&file, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is a file"), "{e}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = Volume::open_read_only(&empty, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no mdbx.dat"), "{e}");
    // A directory holding something else is not turned into a volume.
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), b"x").unwrap();
    let e = Volume::open_for_write(&busy, &WriteOptions::new("a"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds 'notes.txt'"), "{e}");
    // A file named mdbx.dat that is not MDBX.
    let fake = tmp.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    std::fs::write(fake.join(DATA_FILE), vec![7u8; 8192]).unwrap();
    let e = Volume::open_read_only(&fake, false).unwrap_err();
    assert!(
        matches!(
            e,
            StorageError::NotAVolume { .. } | StorageError::Mdbx { .. } | StorageError::Corrupt(_)
        ),
        "{e}"
    );
}

#[test]
fn clearing_a_saga_removes_exactly_its_entries_in_every_table() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    let pairs = [
        ("t1", "order"),
        ("t1", "pay"),
        ("t2", "order"),
        ("t0", "order"),
    ];
    let rec = ScheduleRecord {
        fire: "Timeout".into(),
        armed_at_ms: 0,
        armed_by: "e".into(),
        cause_seq: 0,
    };
    v.write(|w| {
        for (t, s) in pairs {
            for i in 0..50u64 {
                let k = format!("k{i}");
                w.put_instance(t, s, &k, &inst("new"), true)?;
                let d = DedupeRecord {
                    seq: i,
                    at_ms: 1,
                    outcome: Outcome::Applied,
                    digest: 0,
                };
                w.put_dedupe(t, s, &format!("e{i}"), &d)?;
                w.put_schedule(t, s, 100 + i, &k, "pay", &rec)?;
                w.push_outbox(&OutboxEntry {
                    kind: OutboxKind::Command,
                    subject: format!("cmd.{t}.x"),
                    msg_id: format!("{t}-{s}-{i}"),
                    headers: vec![],
                    payload: vec![],
                    tenant: t.into(),
                    saga: s.into(),
                    created_at_ms: 1,
                    cause_seq: 0,
                })?;
            }
            w.set_checkpoint(
                t,
                s,
                &Checkpoint {
                    seq: 9,
                    updated_at_ms: 1,
                },
            )?;
        }
        Ok::<_, StorageError>(())
    })
    .unwrap();
    let cleared = v
        .write(|w| {
            let mut n = Vec::new();
            for table in TableCode::ALL {
                n.push(w.clear_saga("t1", "order", table)?);
            }
            Ok::<_, StorageError>(n)
        })
        .unwrap();
    // Sagas, Dedupe, Checkpoints, Outbox, Schedules.
    assert_eq!(cleared, vec![50, 50, 1, 50, 50]);
    v.read(|r| {
        for table in TableCode::ALL {
            assert_eq!(r.count("t1", "order", table)?, 0, "{table:?}");
            for (t, s) in &pairs[1..] {
                let want = if table == TableCode::Checkpoints {
                    1
                } else {
                    50
                };
                assert_eq!(r.count(t, s, table)?, want, "{t}/{s} {table:?}");
            }
        }
        assert_eq!(r.entries(TableId::Sagas)?, 150);
        assert_eq!(r.entries(TableId::Dedupe)?, 150);
        assert_eq!(r.entries(TableId::Schedules)?, 150);
        assert_eq!(r.entries(TableId::Outbox)?, 150);
        assert!(r.instance("t1", "order", "k0")?.is_none());
        assert!(r.instance("t1", "pay", "k0")?.is_some());
        Ok::<_, StorageError>(())
    })
    .unwrap();
    // Clearing again finds nothing.
    let again = v
        .write(|w| w.clear_saga("t1", "order", TableCode::Dedupe))
        .unwrap();
    assert_eq!(again, 0);
}

/// A copy of a volume written by the format-1 runner (tests/fixtures/volume-v1): two
/// tenants, 25 orders (15 payment timers fired in one burst, which format 1 recorded as ONE
/// timer marker), 30 deposits, a dead letter, 5 pending timers and 2 pending outbox rows.
fn v1_fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/volume-v1/mdbx.dat");
    std::fs::copy(src, tmp.path().join(DATA_FILE)).unwrap();
    tmp
}

/// Everything a volume holds, decoded with this build's records (fails on any v1 value).
fn contents(v: &Volume) -> (u64, Vec<(String, String, String)>, u64, u64) {
    v.read(|r| {
        let mut markers = Vec::new();
        r.scan(TableId::Dedupe, &[], None, |k, val| {
            let (t, s, m) = keys::decode_dedupe(k)?;
            let rec: DedupeRecord = decode(table::DEDUPE, val)?;
            assert_ne!(
                rec.outcome,
                Outcome::TimerFired,
                "a format-1 timer marker survived"
            );
            markers.push((t.to_string(), s.to_string(), m.to_string()));
            Ok(true)
        })?;
        let mut outbox = 0;
        r.scan(TableId::Outbox, &[], None, |_, val| {
            let _: OutboxEntry = decode(table::OUTBOX, val)?;
            outbox += 1;
            Ok(true)
        })?;
        let mut timers = 0;
        r.scan(TableId::Schedules, &[], None, |_, val| {
            let _: ScheduleRecord = decode(table::SCHEDULES, val)?;
            timers += 1;
            Ok(true)
        })?;
        // The per-tenant counts still add up to the tables' sizes.
        let mut counted = 0;
        for (t, s) in [("t1", "order"), ("t2", "account")] {
            counted += r.count(t, s, TableCode::Dedupe)?;
        }
        assert_eq!(counted, r.entries(TableId::Dedupe)?);
        Ok::<_, StorageError>((r.entries(TableId::Sagas)?, markers, outbox, timers))
    })
    .unwrap()
}

#[test]
fn a_format_1_volume_is_refused_by_readers_and_migrated_by_the_runner() {
    let tmp = v1_fixture();
    let e = Volume::open_read_only(tmp.path(), false).unwrap_err();
    assert!(
        matches!(e, StorageError::OlderFormat { found: 1, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("start a runner of this version"),
        "{e}"
    );

    let v = new_volume(tmp.path());
    let m = v.migrated().cloned().expect("migrated");
    assert_eq!(m.from_version, 1);
    assert_eq!(m.dedupe, 60, "25 placed, 5 paid, 30 deposits");
    assert!(m.timer_markers_dropped >= 1);
    assert_eq!((m.outbox, m.schedules), (2, 5));
    let (instances, markers, outbox, timers) = contents(&v);
    assert_eq!((instances, markers.len(), outbox, timers), (28, 60, 2, 5));
    v.read(|r| {
        assert_eq!(r.format_version()?, FORMAT_VERSION);
        assert!(r.meta_raw(meta::MIGRATION)?.is_none());
        Ok::<_, StorageError>(())
    })
    .unwrap();
    drop(v);
    // Once migrated: readable, and opening it again migrates nothing.
    Volume::open_read_only(tmp.path(), false).unwrap();
    assert!(new_volume(tmp.path()).migrated().is_none());
}

#[test]
fn an_interrupted_migration_resumes_where_it_stopped() {
    let whole = v1_fixture();
    let want = contents(&new_volume(whole.path()));
    let tmp = v1_fixture();
    let mut done = Migrated::default();
    // A few small steps, then the process "dies": the volume is still format 1 to readers.
    {
        let v =
            Volume::open_for_write_unmigrated(tmp.path(), &WriteOptions::new("shard-a")).unwrap();
        for _ in 0..4 {
            assert!(!migrate::step(&v, 7, &mut done).unwrap());
        }
    }
    let e = Volume::open_read_only(tmp.path(), false).unwrap_err();
    assert!(matches!(e, StorageError::OlderFormat { .. }), "{e}");
    let v = new_volume(tmp.path());
    assert_eq!(contents(&v), want);
}

/// `space()` counts the data, not the pages freed and waiting for reuse: a tenant's markers
/// deleted (moved away, say) show as room although the file keeps its size.
#[test]
fn space_counts_data_not_freed_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let v = new_volume(tmp.path());
    let empty = v.space().unwrap();
    let rec = DedupeRecord {
        seq: 1,
        at_ms: 1,
        outcome: Outcome::Applied,
        digest: 1,
    };
    for chunk in 0..4 {
        v.write(|w| {
            for i in 0..5_000 {
                w.put_dedupe("t1", "order", &format!("event-{chunk}-{i}"), &rec)?;
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
    }
    let full = v.space().unwrap();
    assert!(
        full.used_bytes > empty.used_bytes + 20_000 * 20,
        "20,000 markers take room: {empty:?} -> {full:?}"
    );
    assert!(full.used_bytes <= full.file_bytes, "{full:?}");
    v.write(|w| w.clear_tenant("t1")).unwrap();
    // A second commit lets MDBX account the first one's freed pages as reusable.
    v.write(|w| w.set_meta_u64("touch", 1)).unwrap();
    let after = v.space().unwrap();
    assert_eq!(
        after.file_bytes, full.file_bytes,
        "the file does not shrink"
    );
    assert!(
        after.used_bytes < full.used_bytes / 4,
        "the deleted markers' pages count as room: {full:?} -> {after:?}"
    );
}
