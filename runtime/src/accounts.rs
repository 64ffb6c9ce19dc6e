//! The accounts a transaction has loaded, in first-touch order, found by address.

use crate::db::{AccountInfo, Database, DbError};
use crate::journal::Account;
use alloy_primitives::map::{AddressMap, FbBuildHasher, U256Map};
use alloy_primitives::Address;

/// Loaded accounts. An account never leaves the table before the transaction ends (a revert
/// only flips its flags back), so its position is stable and the most recent lookup can be
/// remembered: runs of accesses to one account (SLOAD after SLOAD in a contract, the
/// sender's checks at the start of a transaction) then cost a 20-byte comparison instead of
/// a hash and a probe, which profiles of snailtracer showed as a twentieth of its time.
///
/// Most transactions load a handful of accounts (sender, target, coinbase, a few callees).
/// Up to eight (`LINEAR_MAX`) of them are found by comparing addresses in order, which costs less
/// than hashing one; the hash index is built only when a transaction goes past that.
///
/// Entries outlive the transaction that loaded them: the next transaction's accounts are
/// written into them field by field, storage maps included (emptied, their memory kept). A
/// new entry built whole and moved into the list stalled on its own just-written bytes, and a
/// storage map allocated and freed per transaction cost a tenth of the time outside compiled
/// code, in profiles of short transactions.
#[derive(Debug, Default)]
pub struct AccountTable {
    /// Position by address; empty while the table holds at most [`LINEAR_MAX`] accounts.
    index: AddressMap<u32>,
    /// In first-touch order, so state changes come out deterministically. Only the first
    /// `len` entries are this transaction's; the rest wait to be reused.
    list: Vec<(Address, Account)>,
    len: usize,
    /// Position of the account found last; checked against its address before use, so a
    /// stale value only costs the ordinary lookup.
    last: usize,
}

/// The largest storage map (in slots) an entry keeps for the next transaction, and how many
/// entries (the first ones) keep theirs: enough for ordinary transactions, without holding on
/// to the memory of an unusual one (at most about a megabyte a thread).
const KEPT_STORAGE_MAX_SLOTS: usize = 256;
const KEPT_STORAGE_MAPS: usize = 32;

/// Accounts found by a scan of the list rather than through the hash index.
const LINEAR_MAX: usize = 8;

impl AccountTable {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            index: AddressMap::with_capacity_and_hasher(capacity, Default::default()),
            list: Vec::with_capacity(capacity),
            len: 0,
            last: 0,
        }
    }

    /// This transaction's accounts.
    #[inline]
    fn live(&self) -> &[(Address, Account)] {
        &self.list[..self.len]
    }

    #[inline]
    fn position(&self, address: &Address) -> Option<usize> {
        match self.live().get(self.last) {
            Some((a, _)) if a == address => Some(self.last),
            _ => self.find(address),
        }
    }

    /// The position of `address` without the `last` shortcut.
    #[inline]
    fn find(&self, address: &Address) -> Option<usize> {
        if self.len <= LINEAR_MAX {
            self.live().iter().position(|(a, _)| a == address)
        } else {
            self.index.get(address).map(|&i| i as usize)
        }
    }

    pub fn get(&self, address: &Address) -> Option<&Account> {
        self.position(address).map(|i| &self.list[i].1)
    }

    #[inline]
    pub fn get_mut(&mut self, address: &Address) -> Option<&mut Account> {
        let i = self.position(address)?;
        self.last = i;
        Some(&mut self.list[i].1)
    }

    /// The account at `address`, loaded from `db` on first access: at most one hash lookup.
    #[inline]
    pub fn load(
        &mut self,
        db: &mut dyn Database,
        slot_hasher: &FbBuildHasher<32>,
        address: Address,
    ) -> Result<&mut Account, DbError> {
        let i = match self.position(&address) {
            Some(i) => i,
            None => self.insert(db, slot_hasher, address)?,
        };
        self.last = i;
        Ok(&mut self.list[i].1)
    }

    /// Loads the account at `address` from `db` into the next entry; returns its position.
    fn insert(
        &mut self,
        db: &mut dyn Database,
        slot_hasher: &FbBuildHasher<32>,
        address: Address,
    ) -> Result<usize, DbError> {
        let i = self.len;
        if i == self.list.len() {
            let storage = U256Map::with_hasher(slot_hasher.clone());
            self.list.push((address, Account { storage, ..Account::default() }));
        }
        let (entry, acc) = &mut self.list[i];
        *entry = address;
        acc.not_existing = !fetch(db, address, &mut acc.info)?;
        if acc.not_existing {
            // What an earlier transaction left in the entry.
            acc.info = AccountInfo::default();
        }
        acc.created = false;
        acc.destroyed = false;
        acc.touched = false;
        acc.warm = false;
        debug_assert!(acc.storage.is_empty());
        self.len += 1;
        self.indexed(i);
        Ok(i)
    }

    /// Keeps the hash index in step with the table once it outgrows the linear scan.
    fn indexed(&mut self, new: usize) {
        if self.len <= LINEAR_MAX {
            return;
        }
        if self.index.is_empty() {
            let positions = self.list[..self.len].iter().enumerate();
            self.index.extend(positions.map(|(i, (a, _))| (*a, i as u32)));
        } else {
            self.index.insert(self.list[new].0, new as u32);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The larger of the two buffers' capacities, in accounts.
    pub fn capacity(&self) -> usize {
        self.index.capacity().max(self.list.capacity())
    }

    /// Every account in first-touch order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Address, &mut Account)> {
        self.list[..self.len].iter_mut().map(|(a, acc)| (*a, acc))
    }

    /// Empties the table for the next transaction: entries are kept for reuse, their storage
    /// maps emptied (or freed: past `KEPT_STORAGE_MAX_SLOTS` slots or the first
    /// `KEPT_STORAGE_MAPS` entries) and their code released.
    pub fn clear(&mut self) {
        self.index.clear();
        for (i, (_, acc)) in self.list[..self.len].iter_mut().enumerate() {
            let capacity = acc.storage.capacity();
            if capacity > KEPT_STORAGE_MAX_SLOTS || (i >= KEPT_STORAGE_MAPS && capacity > 0) {
                acc.storage = U256Map::with_hasher(acc.storage.hasher().clone());
            } else {
                acc.storage.clear();
            }
            acc.info.code = None;
        }
        self.len = 0;
        self.last = 0;
    }
}

/// The database read, kept out of line: inlined, its spills showed in every lookup.
#[inline(never)]
fn fetch(db: &mut dyn Database, address: Address, info: &mut AccountInfo) -> Result<bool, DbError> {
    db.basic_into(address, info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::InMemoryDb;
    use crate::journal::Slot;
    use alloy_primitives::{Bytes, U256};

    /// An empty table, small enough that tests reach its growth, and the hasher for its
    /// storage maps.
    fn table() -> (FbBuildHasher<32>, AccountTable) {
        (FbBuildHasher::default(), AccountTable::with_capacity(2))
    }

    fn slot(present: u64) -> Slot {
        Slot { original: U256::ZERO, present: U256::from(present), warm: true }
    }

    #[test]
    fn lookups_alternating_between_accounts_find_each_one() {
        let mut db = InMemoryDb::new();
        for n in 1..=3u8 {
            db.insert_account(Address::with_last_byte(n), U256::from(n), 0, Bytes::new(), []);
        }
        let (hasher, mut t) = table();
        for round in 0..3 {
            for n in [1u8, 2, 1, 3, 3, 2, 4] {
                let a = Address::with_last_byte(n);
                let acc = t.load(&mut db, &hasher, a).unwrap();
                let expected = if n == 4 { U256::ZERO } else { U256::from(n) };
                assert_eq!(acc.info.balance, expected, "round {round}, account {n}");
                assert_eq!(acc.not_existing, n == 4);
                assert_eq!(t.get(&a).unwrap().info.balance, expected);
            }
        }
        assert_eq!(t.len(), 4, "each account is loaded once");
        let order: Vec<u8> = t.iter_mut().map(|(a, _)| a.0[19]).collect();
        assert_eq!(order, [1, 2, 3, 4], "first-touch order");
        t.clear();
        assert!(t.get(&Address::with_last_byte(1)).is_none());
        assert!(t.get_mut(&Address::with_last_byte(1)).is_none());
    }

    /// Past the linear scan's size the hash index takes over, built from the accounts loaded
    /// so far; every account stays found, once, before and after.
    #[test]
    fn tables_larger_than_the_scan_find_each_account_once() {
        let mut db = InMemoryDb::new();
        let count = 3 * LINEAR_MAX as u8;
        for n in 1..=count {
            db.insert_account(Address::with_last_byte(n), U256::from(n), 0, Bytes::new(), []);
        }
        let (hasher, mut t) = table();
        // Every account, in an order that jumps about (7 is prime to the count), twice.
        let scrambled = |k: u8| k * 7 % count + 1;
        for round in 0..2 {
            for k in 0..count {
                let a = Address::with_last_byte(scrambled(k));
                let expected = U256::from(scrambled(k));
                assert_eq!(t.load(&mut db, &hasher, a).unwrap().info.balance, expected);
                assert_eq!(t.get(&a).unwrap().info.balance, expected, "round {round}");
                let first = Address::with_last_byte(scrambled(0));
                assert_eq!(t.get_mut(&first).unwrap().info.balance, U256::from(scrambled(0)));
            }
        }
        let mut seen: Vec<u8> = t.iter_mut().map(|(a, _)| a.0[19]).collect();
        assert_eq!(seen.len(), count as usize, "each account is loaded once");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), count as usize);
        t.clear();
        assert!(t.get(&Address::with_last_byte(count)).is_none(), "the index is emptied too");
    }

    /// An entry a later transaction reuses holds nothing of its earlier account: not its
    /// balance or code (for an account the database lacks) and none of its flags.
    #[test]
    fn a_reused_entry_starts_afresh() {
        let mut db = InMemoryDb::new();
        let code = Bytes::from_static(&[0x60, 0x00]);
        db.insert_account(Address::with_last_byte(1), U256::from(7), 3, code, []);
        let (hasher, mut t) = table();
        let acc = t.load(&mut db, &hasher, Address::with_last_byte(1)).unwrap();
        (acc.created, acc.destroyed, acc.touched, acc.warm) = (true, true, true, true);
        t.clear();
        let acc = t.load(&mut db, &hasher, Address::with_last_byte(9)).unwrap();
        assert!(acc.not_existing);
        assert_eq!(acc.info, AccountInfo::default());
        assert!(!(acc.created || acc.destroyed || acc.touched || acc.warm));
        assert_eq!(t.len(), 1);
    }

    /// What a table keeps between transactions is bounded: storage maps of the first
    /// `KEPT_STORAGE_MAPS` entries only, none larger than `KEPT_STORAGE_MAX_SLOTS` slots.
    #[test]
    fn kept_storage_is_bounded() {
        let mut db = InMemoryDb::new();
        let (hasher, mut t) = table();
        let accounts = KEPT_STORAGE_MAPS as u8 + 8;
        for n in 0..accounts {
            let acc = t.load(&mut db, &hasher, Address::with_last_byte(n)).unwrap();
            let slots = if n == 0 { 2 * KEPT_STORAGE_MAX_SLOTS } else { 1 };
            acc.storage.extend((0..slots).map(|k| (U256::from(k), slot(1))));
        }
        t.clear();
        let kept: Vec<usize> = t.list.iter().map(|(_, acc)| acc.storage.capacity()).collect();
        assert_eq!(kept.len(), accounts as usize, "the entries themselves are kept");
        assert_eq!(kept[0], 0, "a map past the slot bound is freed");
        assert!(kept[1..KEPT_STORAGE_MAPS].iter().all(|&c| c > 0), "{kept:?}");
        assert!(kept[KEPT_STORAGE_MAPS..].iter().all(|&c| c == 0), "{kept:?}");
    }

    #[test]
    fn a_reused_storage_map_starts_empty() {
        let mut db = InMemoryDb::new();
        let (hasher, mut t) = table();
        t.load(&mut db, &hasher, Address::with_last_byte(1))
            .unwrap()
            .storage
            .insert(U256::from(1), slot(5));
        t.clear();
        let acc = t.load(&mut db, &hasher, Address::with_last_byte(2)).unwrap();
        assert!(acc.storage.capacity() > 0, "the first account's map is reused");
        assert!(acc.storage.is_empty(), "with nothing of the first account in it");
    }
}
