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

/// Whether this process was handed the first of `keys` before; then remembers them all.
pub(crate) fn remember_batch(keys: &[u64]) -> bool {
    let Some(first) = keys.first() else {
        return false;
    };
    let mut table = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let seen = table[slot(*first)] == *first;
    // Last to first, so a later record sharing a slot never erases the first record's key,
    // the one a redelivery is recognised by.
    for key in keys.iter().rev() {
        table[slot(*key)] = *key;
    }
    seen
}

/// Whether this process ran an invocation with this request id before; then remembers it.
pub(crate) fn remember_request(request_id: &str) -> bool {
    let key = key(b'r', request_id);
    let mut table = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = &mut table[slot(key)];
    let seen = *entry == key;
    *entry = key;
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_seen_the_second_time() {
        let id = "seen-test-8f0c1e2a";
        assert!(!remember_request(id));
        assert!(remember_request(id));
        assert!(!remember_request("seen-test-other-id"));
    }

    #[test]
    fn a_batch_is_seen_when_its_first_record_was() {
        let keys: Vec<u64> = ["seen-a", "seen-b", "seen-c"]
            .iter()
            .map(|id| stream_key(id))
            .collect();
        assert!(!remember_batch(&keys));
        assert!(remember_batch(&keys), "the same batch again");
        assert!(remember_batch(&keys[1..]), "a retry from the second record");
        assert!(!remember_batch(&[stream_key("seen-d")]));
        assert!(!remember_batch(&[]));
    }

    #[test]
    fn a_later_record_in_the_first_records_slot_does_not_erase_it() {
        let first = stream_key("seen-slot-first");
        // Another key of the same slot, later in the same batch.
        let clash = first + SLOTS as u64;
        assert_eq!(slot(first), slot(clash));
        assert!(!remember_batch(&[first, clash]));
        assert!(remember_batch(&[first, clash]), "the batch delivered again");
    }
}
