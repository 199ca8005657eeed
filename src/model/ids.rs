//! Identifiers: typed indices of entities, node references in configs, and JSESSIONID values.

/// Index of an app node (0-based).
pub type NodeIdx = u16;

/// A node named in a config: `app:<i>`, `store:<i>`, or a whole tier (`app`, `store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRef {
    /// App node i.
    App(u32),
    /// Store node i.
    Store(u32),
    /// Every app node.
    AllApp,
    /// Every store node.
    AllStore,
}

impl NodeRef {
    /// Parses `"app:1"`, `"store:0"` and, when `whole_tier_ok`, `"app"` / `"store"`.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(s: &str, whole_tier_ok: bool) -> Result<NodeRef, String> {
        let expected = if whole_tier_ok {
            "expected \"app\", \"store\", \"app:<i>\" or \"store:<i>\""
        } else {
            "expected \"app:<i>\" or \"store:<i>\" with a 0-based node index"
        };
        match s.split_once(':') {
            None if whole_tier_ok && s == "app" => Ok(NodeRef::AllApp),
            None if whole_tier_ok && s == "store" => Ok(NodeRef::AllStore),
            Some((tier, i)) => {
                let i: u32 = i.parse().map_err(|_| format!("{expected}, got \"{s}\""))?;
                match tier {
                    "app" => Ok(NodeRef::App(i)),
                    "store" => Ok(NodeRef::Store(i)),
                    _ => Err(format!("{expected}, got \"{s}\"")),
                }
            }
            None => Err(format!("{expected}, got \"{s}\"")),
        }
    }
}

/// A Tomcat session id: 16 random bytes shown as 32 upper-case hex characters, an optional
/// memcached node suffix (msm: `-<nodeId>`) and an optional `.jvmRoute`
/// (Tomcat `StandardSessionIdGenerator`: `sessionIdLength` 16, upper-case hex).
///
/// 20 bytes: `packed(4)` lowers the `u128`'s alignment to 4, so a cookie (id and table
/// reference) fits in 32 bytes and a session's metadata in 48, where 16-byte alignment padded
/// them to 48 and 64, and 8-byte alignment to 40 and 56 (the fields are only ever read by
/// value; x86-64 loads them unaligned at no cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(Rust, packed(4))]
pub struct SessionId {
    /// The random part.
    pub base: u128,
    /// Index of the app node whose jvmRoute is appended, or [`SessionId::NONE`].
    pub route: u16,
    /// Index of the memcached node named in the id (msm), or [`SessionId::NONE`].
    pub store: u16,
}

const _: () = assert!(std::mem::size_of::<SessionId>() == 20);

impl SessionId {
    /// No route / no store suffix.
    pub const NONE: u16 = u16::MAX;

    /// Length of the id's text \[bytes\] (what [`SessionId::write`] would write).
    pub fn text_len(&self, routes: &[String], stores: &[String]) -> usize {
        let mut n = 32;
        if self.store != Self::NONE {
            n += 1 + stores[self.store as usize].len();
        }
        if self.route != Self::NONE {
            n += 1 + routes[self.route as usize].len();
        }
        n
    }

    /// Writes the id's text (the JSESSIONID cookie value) into `buf`; returns its length.
    /// `routes[i]` is node i's jvmRoute, `stores[j]` memcached node j's id.
    pub fn write(&self, buf: &mut [u8; 96], routes: &[String], stores: &[String]) -> usize {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut n = 0;
        for i in (0..32).rev() {
            buf[n] = HEX[((self.base >> (i * 4)) & 0xF) as usize];
            n += 1;
        }
        let mut push = |n: &mut usize, sep: u8, s: &str| {
            buf[*n] = sep;
            *n += 1;
            let b = s.as_bytes();
            let len = b.len().min(buf.len() - *n);
            buf[*n..*n + len].copy_from_slice(&b[..len]);
            *n += len;
        };
        if self.store != Self::NONE {
            push(&mut n, b'-', &stores[self.store as usize]);
        }
        if self.route != Self::NONE {
            push(&mut n, b'.', &routes[self.route as usize]);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_node_refs() {
        assert_eq!(NodeRef::parse("app:1", false), Ok(NodeRef::App(1)));
        assert_eq!(NodeRef::parse("store:0", false), Ok(NodeRef::Store(0)));
        assert!(NodeRef::parse("app", false).is_err());
        assert_eq!(NodeRef::parse("app", true), Ok(NodeRef::AllApp));
        assert!(NodeRef::parse("db:1", false).is_err());
        assert!(NodeRef::parse("app:x", false).is_err());
    }
    #[test]
    fn formats_tomcat_ids() {
        let id = SessionId {
            base: 0x0123456789ABCDEF_FEDCBA9876543210,
            route: 1,
            store: SessionId::NONE,
        };
        let mut buf = [0u8; 96];
        let n = id.write(&mut buf, &["tomcat1".into(), "tomcat2".into()], &[]);
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            "0123456789ABCDEFFEDCBA9876543210.tomcat2"
        );
        let msm = SessionId { store: 0, ..id };
        let n = msm.write(
            &mut buf,
            &["tomcat1".into(), "tomcat2".into()],
            &["n1".into()],
        );
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            "0123456789ABCDEFFEDCBA9876543210-n1.tomcat2"
        );
        assert_eq!(
            msm.text_len(&["tomcat1".into(), "tomcat2".into()], &["n1".into()]),
            n
        );
    }
}
