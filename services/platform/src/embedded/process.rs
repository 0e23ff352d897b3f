//! Who holds a data folder: the postmaster named by `postmaster.pid`, checked against the
//! process table instead of trusted. A lock file outlives a killed server; its pid may since
//! belong to a zombie or to another program, and `pg_ctl status` believes it either way.

use std::fs;
use std::path::Path;

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProcessInfo {
    pub comm: String,
    /// `Z` for a zombie, `X` for a dead one.
    pub state: char,
    pub parent: i32,
}

/// The process `pid`, if it exists.
pub(super) fn process(pid: i32) -> Option<ProcessInfo> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// `<pid> (<comm>) <state> <ppid> ...`; the name may itself hold spaces and parentheses.
fn parse_stat(stat: &str) -> Option<ProcessInfo> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some(ProcessInfo {
        comm,
        state,
        parent,
    })
}

fn is_alive(info: &ProcessInfo) -> bool {
    !matches!(info.state, 'Z' | 'X' | 'x')
}

/// Who holds the cluster's data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Holder {
    /// No lock file: nobody.
    Nobody,
    /// A lock file whose process is gone, a zombie, another program or another folder's
    /// server: nobody, and the file must go before a server can start.
    Stale,
    /// A live postmaster whose parent is gone (the server that started it was killed, or an
    /// older version started it detached): nobody supervises it.
    Orphan(i32),
    /// A live postmaster that a live process started (another `openhmis` on this folder).
    Owned(i32),
}

/// Reads `postmaster.pid` in `data_dir` and checks its process.
pub(super) fn holder(data_dir: &Path) -> Holder {
    let Ok(text) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return Holder::Nobody;
    };
    let Some(pid) = text
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok())
    else {
        return Holder::Stale;
    };
    let Some(info) = process(pid) else {
        return Holder::Stale;
    };
    if !is_alive(&info) || info.comm != "postgres" {
        return Holder::Stale;
    }
    // A postmaster works in its data folder; one elsewhere is another cluster's server that
    // happens to have the recorded pid. Unreadable (another user's process): trust the name.
    if let Ok(cwd) = fs::read_link(format!("/proc/{pid}/cwd"))
        && fs::canonicalize(data_dir).is_ok_and(|data_dir| data_dir != cwd)
    {
        return Holder::Stale;
    }
    let parent_alive = info.parent > 1 && process(info.parent).is_some_and(|p| is_alive(&p));
    if parent_alive {
        Holder::Owned(pid)
    } else {
        Holder::Orphan(pid)
    }
}

/// The status line of `postmaster.pid` (its eighth line) when `pid` wrote it: `ready` once
/// connections are accepted, as `pg_ctl -w` reads it.
pub(super) fn is_ready(data_dir: &Path, pid: i32) -> bool {
    let Ok(text) = fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let mut lines = text.lines();
    let written_by = lines
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok());
    written_by == Some(pid) && lines.nth(6).is_some_and(|status| status.trim() == "ready")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_name_with_spaces_and_parentheses_is_read_whole() {
        let info = parse_stat("4242 (post (gres) x) Z 1 4242 4242 0 -1").expect("parsed");
        assert_eq!(info.comm, "post (gres) x");
        assert_eq!(info.state, 'Z');
        assert_eq!(info.parent, 1);
    }

    #[test]
    fn this_process_is_alive_and_not_a_postmaster() {
        let me = process(std::process::id().try_into().expect("pid")).expect("self");
        assert!(is_alive(&me));
        assert_ne!(me.comm, "postgres");
    }

    #[test]
    fn a_lock_file_naming_another_program_is_stale() {
        let dir = std::env::temp_dir().join(format!("hmis-holder-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        assert_eq!(holder(&dir), Holder::Nobody);
        // This test process is alive, but it is not a postmaster.
        fs::write(
            dir.join("postmaster.pid"),
            format!("{}\n{}\n", std::process::id(), dir.display()),
        )
        .expect("write");
        assert_eq!(holder(&dir), Holder::Stale);
        fs::write(dir.join("postmaster.pid"), "not a pid\n").expect("write");
        assert_eq!(holder(&dir), Holder::Stale);
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
