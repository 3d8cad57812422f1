//! Who is acting, as the audit trail records it.

/// Who is acting: `DSR_ACTOR`, else the login name, else (cron often sets neither USER nor
/// LOGNAME) the account of the process's user id from /etc/passwd, else `uid:N`.
pub fn actor() -> String {
    static ACTOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ACTOR
        .get_or_init(|| {
            ["DSR_ACTOR", "USER", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
                .or_else(account_of_uid)
                .unwrap_or_else(|| "unknown".to_owned())
        })
        .clone()
}

fn account_of_uid() -> Option<String> {
    // The real user id, as /proc/self/status's first Uid: field gives it, without reading a file.
    let uid = rustix::process::getuid().as_raw().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid:{uid}")))
}
