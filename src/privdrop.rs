//! `--user NAME`: after the capture handles are open, switch to that user (supplementary
//! groups, group, then user), as `tcpdump -Z` does. The handles stay usable; nothing opened
//! later (a SIGHUP reopen of the EVE file) has root's rights any more.

use std::ffi::CString;

/// Switch to `name`'s uid, gid and groups; an error line when it cannot.
pub fn drop_to(name: &str) -> Result<(), String> {
    let cname = CString::new(name).map_err(|_| format!("--user {name:?}: bad user name"))?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives the use of `pwd`'s strings.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(format!("--user {name}: no such user"));
    }
    let (uid, gid) = (pwd.pw_uid, pwd.pw_gid);
    let last = |what: &str| format!("--user {name}: {what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain system calls on values read above.
    unsafe {
        if libc::initgroups(cname.as_ptr(), gid) != 0 {
            return Err(last("initgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(last("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(last("setuid"));
        }
        if uid != 0 && libc::setuid(0) == 0 {
            return Err(format!(
                "--user {name}: could get root back after dropping it"
            ));
        }
    }
    Ok(())
}
