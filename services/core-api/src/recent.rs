//! Values read recently from the register, per tenant and id, for a while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmis_platform::TenantId;
use uuid::Uuid;

/// Beyond this many entries the cache starts over (a deployment serving many tenants).
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Recent<T> {
    for_how_long: Duration,
    entries: Mutex<HashMap<(TenantId, Uuid), (Instant, T)>>,
}

impl<T: Clone> Recent<T> {
    /// Keeps values for `for_how_long`; zero keeps nothing.
    pub(crate) fn new(for_how_long: Duration) -> Self {
        Self {
            for_how_long,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &(TenantId, Uuid)) -> Option<T> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|(read_at, _)| read_at.elapsed() < self.for_how_long)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: (TenantId, Uuid), value: T) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// The value of `key` read within the time, or `read` it now (and keep it).
    pub(crate) async fn get_or_read<E>(
        &self,
        key: (TenantId, Uuid),
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        if self.for_how_long.is_zero() {
            return read.await;
        }
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let value = read.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Like the client's reads, a future that does its work only when awaited.
    async fn counted(reads: &AtomicUsize, value: &'static str) -> Result<String, ()> {
        reads.fetch_add(1, Ordering::SeqCst);
        Ok(value.to_owned())
    }

    #[tokio::test]
    async fn recent_values_are_read_once_per_tenant_and_id() {
        let recent = Recent::new(Duration::from_secs(30));
        let (tenant, other_tenant, id) =
            (TenantId::generate(), TenantId::generate(), Uuid::now_v7());
        let reads = AtomicUsize::new(0);
        let first = recent.get_or_read((tenant, id), counted(&reads, "first"));
        assert_eq!(first.await.ok(), Some("first".to_owned()));
        let second = recent.get_or_read((tenant, id), counted(&reads, "second"));
        assert_eq!(second.await.ok(), Some("first".to_owned()));
        let other = recent.get_or_read((other_tenant, id), counted(&reads, "other"));
        assert_eq!(
            other.await.ok(),
            Some("other".to_owned()),
            "another tenant's read is its own"
        );
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "the second read of the same tenant and id came from the cache"
        );
    }

    #[tokio::test]
    async fn a_client_that_keeps_nothing_reads_every_time() {
        let recent = Recent::new(Duration::ZERO);
        let (tenant, id) = (TenantId::generate(), Uuid::now_v7());
        let reads = AtomicUsize::new(0);
        let first = recent.get_or_read((tenant, id), counted(&reads, "first"));
        assert_eq!(first.await.ok(), Some("first".to_owned()));
        let second = recent.get_or_read((tenant, id), counted(&reads, "second"));
        assert_eq!(second.await.ok(), Some("second".to_owned()));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
