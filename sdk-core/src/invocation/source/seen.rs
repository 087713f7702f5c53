//! What this process was handed before, for telling redeliveries from first deliveries:
//! a fixed table of 64-bit hashes of request ids and of stream record ids.
//!
//! The table has [`SLOTS`] slots (32 KiB, allocated once, never more) and is direct-mapped:
//! a key takes the slot its hash picks, replacing what was there. So memory stays bounded
//! whatever the traffic, at the price of forgetting: a key can be pushed out by a later one
//! that picks the same slot, and a batch of more than [`SLOTS`] records cannot be
//! remembered whole. A forgotten key makes a redelivery look like a first delivery, never
//! the other way round (but for a 64-bit hash collision).

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Mutex, PoisonError},
};

/// How many keys the table holds at most.
pub(crate) const SLOTS: usize = 4096;

static SEEN: Mutex<[u64; SLOTS]> = Mutex::new([0; SLOTS]);

/// The key of `id` in the namespace `domain`; never 0, the empty slot.
fn key(domain: u8, id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    domain.hash(&mut hasher);
    id.hash(&mut hasher);
    hasher.finish().max(1)
}

fn slot(key: u64) -> usize {
    // The low bits of a SipHash output are as good as any.
    (key as usize) % SLOTS
}

/// The key of a stream record (its `eventID`).
pub(crate) fn stream_key(event_id: &str) -> u64 {
    key(b's', event_id)
}

/// What this process was handed before, of one delivery: whether it was handed the first
/// of the stream records `keys`, and whether it ran an invocation with `request_id` (never,
/// for an empty one). Then remembers them all, under one lock.
pub(crate) fn remember_delivery(keys: &[u64], request_id: &str) -> (bool, bool) {
    let mut table = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let batch_seen = remember_batch(&mut table, keys);
    let request_seen = !request_id.is_empty() && remember_request(&mut table, request_id);
    (batch_seen, request_seen)
}

/// Whether `table` holds the first of `keys`; then remembers them all.
fn remember_batch(table: &mut [u64; SLOTS], keys: &[u64]) -> bool {
    let Some(first) = keys.first() else {
        return false;
    };
    let seen = table[slot(*first)] == *first;
    // Last to first, so a later record sharing a slot never erases the first record's key,
    // the one a redelivery is recognised by.
    for key in keys.iter().rev() {
        table[slot(*key)] = *key;
    }
    seen
}

/// Whether `table` holds this request id; then remembers it.
fn remember_request(table: &mut [u64; SLOTS], request_id: &str) -> bool {
    let key = key(b'r', request_id);
    let entry = &mut table[slot(key)];
    let seen = *entry == key;
    *entry = key;
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the request id alone was seen, remembered through [`remember_delivery`].
    fn request_seen(request_id: &str) -> bool {
        let (batch_seen, request_seen) = remember_delivery(&[], request_id);
        assert!(!batch_seen, "no records, no batch seen");
        request_seen
    }

    /// Whether the batch alone was seen, remembered through [`remember_delivery`].
    fn batch_seen(keys: &[u64]) -> bool {
        let (batch_seen, request_seen) = remember_delivery(keys, "");
        assert!(!request_seen, "an empty request id is never seen");
        batch_seen
    }

    #[test]
    fn request_ids_are_seen_the_second_time() {
        let id = "seen-test-8f0c1e2a";
        assert!(!request_seen(id));
        assert!(request_seen(id));
        assert!(!request_seen("seen-test-other-id"));
        assert!(!request_seen(""));
        assert!(!request_seen(""), "an empty request id is never remembered");
    }

    #[test]
    fn a_batch_is_seen_when_its_first_record_was() {
        let keys: Vec<u64> = ["seen-a", "seen-b", "seen-c"]
            .iter()
            .map(|id| stream_key(id))
            .collect();
        assert!(!batch_seen(&keys));
        assert!(batch_seen(&keys), "the same batch again");
        assert!(batch_seen(&keys[1..]), "a retry from the second record");
        assert!(!batch_seen(&[stream_key("seen-d")]));
        assert!(!batch_seen(&[]));
    }

    #[test]
    fn one_delivery_remembers_its_batch_and_its_request_id() {
        let keys = [stream_key("seen-both-record")];
        let id = "seen-both-request";
        assert_eq!(remember_delivery(&keys, id), (false, false));
        assert_eq!(remember_delivery(&keys, id), (true, true));
        assert_eq!(remember_delivery(&keys, "seen-both-retry"), (true, false));
        assert_eq!(
            remember_delivery(&[stream_key("seen-both-other")], id),
            (false, true)
        );
    }

    #[test]
    fn a_later_record_in_the_first_records_slot_does_not_erase_it() {
        let first = stream_key("seen-slot-first");
        // Another key of the same slot, later in the same batch.
        let clash = first + SLOTS as u64;
        assert_eq!(slot(first), slot(clash));
        assert!(!batch_seen(&[first, clash]));
        assert!(batch_seen(&[first, clash]), "the batch delivered again");
    }
}
