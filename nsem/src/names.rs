//! User and group names for ids, from the system's user database
//! (`getpwuid_r`, `getgrgid_r`: files, LDAP, sssd, whatever NSS is set up
//! with). In builds without the `user-names` feature, or on a libc without
//! that database, every id stays a number.

use std::collections::HashMap;

/// Names looked up so far (a listing asks for the same ids many times).
#[derive(Default)]
pub struct Names {
    users: HashMap<u32, Option<String>>,
    groups: HashMap<u32, Option<String>>,
}

impl Names {
    /// The user name of `uid`, if the database has one.
    pub fn user(&mut self, uid: u32) -> Option<&str> {
        self.users
            .entry(uid)
            .or_insert_with(|| db::user(uid))
            .as_deref()
    }

    /// The group name of `gid`, if the database has one.
    pub fn group(&mut self, gid: u32) -> Option<&str> {
        self.groups
            .entry(gid)
            .or_insert_with(|| db::group(gid))
            .as_deref()
    }

    /// `user:group`, numbers where no name is known.
    pub fn owner(&mut self, uid: u32, gid: u32) -> String {
        let user = self.user(uid).map_or(uid.to_string(), str::to_owned);
        let group = self.group(gid).map_or(gid.to_string(), str::to_owned);
        format!("{user}:{group}")
    }
}

#[cfg(all(feature = "user-names", any(target_env = "gnu", target_env = "musl")))]
mod db {
    use std::ffi::{c_char, CStr};

    /// Calls a `get*id_r` function with a growing buffer; the name it
    /// found, if any.
    fn lookup<T>(
        call: impl Fn(&mut T, &mut [c_char], &mut *mut T) -> i32,
        name: fn(&T) -> *const c_char,
    ) -> Option<String> {
        let mut len = 1024;
        loop {
            let mut buf: Vec<c_char> = vec![0; len];
            // SAFETY: an all-zero passwd or group is a valid out-value (null
            // pointers and zero ids); the call fills it in.
            let mut record: T = unsafe { std::mem::zeroed() };
            let mut result: *mut T = std::ptr::null_mut();
            match call(&mut record, &mut buf, &mut result) {
                0 if result.is_null() => return None,
                0 => {
                    let p = name(&record);
                    if p.is_null() {
                        return None;
                    }
                    // SAFETY: on success the name points into `buf`, NUL
                    // terminated, and `buf` is still alive.
                    let s = unsafe { CStr::from_ptr(p) };
                    return s.to_str().ok().map(str::to_owned);
                }
                libc::ERANGE if len < 1 << 20 => len *= 4,
                _ => return None,
            }
        }
    }

    pub fn user(uid: u32) -> Option<String> {
        lookup(
            |pw: &mut libc::passwd, buf, result| {
                // SAFETY: valid pointers to a record, a buffer of the given
                // length and a result slot, all alive for the call.
                unsafe { libc::getpwuid_r(uid, pw, buf.as_mut_ptr(), buf.len(), result) }
            },
            |pw| pw.pw_name,
        )
    }

    pub fn group(gid: u32) -> Option<String> {
        lookup(
            |gr: &mut libc::group, buf, result| {
                // SAFETY: as in `user`.
                unsafe { libc::getgrgid_r(gid, gr, buf.as_mut_ptr(), buf.len(), result) }
            },
            |gr| gr.gr_name,
        )
    }
}

#[cfg(not(all(feature = "user-names", any(target_env = "gnu", target_env = "musl"))))]
mod db {
    pub fn user(_: u32) -> Option<String> {
        None
    }

    pub fn group(_: u32) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(feature = "user-names", any(target_env = "gnu", target_env = "musl")))]
    fn ids_are_named_from_the_user_database() {
        let mut names = Names::default();
        // Every Linux user database has root as user and group 0.
        assert_eq!(names.user(0), Some("root"));
        assert_eq!(names.owner(0, 0), "root:root");
        // An id no system hands out stays a number.
        assert_eq!(names.user(4_000_000_123), None);
        assert_eq!(names.owner(4_000_000_123, 0), "4000000123:root");
    }

    #[test]
    #[cfg(not(all(feature = "user-names", any(target_env = "gnu", target_env = "musl"))))]
    fn without_the_database_ids_stay_numbers() {
        assert_eq!(Names::default().owner(0, 0), "0:0");
    }
}
