//! The accounts a transaction has loaded, in first-touch order, found by address.

use crate::db::{AccountInfo, Database, DbError};
use crate::journal::Account;
use alloy_primitives::map::{hash_map::Entry as MapEntry, AddressMap, FbBuildHasher, U256Map};
use alloy_primitives::Address;

/// Loaded accounts. An account never leaves the table before the transaction ends (a revert
/// only flips its flags back), so its position is stable and the most recent lookup can be
/// remembered: runs of accesses to one account (SLOAD after SLOAD in a contract, the
/// sender's checks at the start of a transaction) then cost a 20-byte comparison instead of
/// a hash and a probe, which profiles of snailtracer showed as a twentieth of its time.
#[derive(Debug, Default)]
pub struct AccountTable {
    index: AddressMap<u32>,
    /// In first-touch order, so state changes come out deterministically.
    list: Vec<(Address, Account)>,
    /// Position of the account found last; checked against its address before use, so a
    /// stale value only costs the ordinary lookup.
    last: usize,
}

impl AccountTable {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            index: AddressMap::with_capacity_and_hasher(capacity, Default::default()),
            list: Vec::with_capacity(capacity),
            last: 0,
        }
    }

    #[inline]
    fn position(&self, address: &Address) -> Option<usize> {
        match self.list.get(self.last) {
            Some((a, _)) if a == address => Some(self.last),
            _ => self.index.get(address).map(|&i| i as usize),
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
        if let Some((a, _)) = self.list.get(self.last) {
            if *a == address {
                return Ok(&mut self.list[self.last].1);
            }
        }
        let i = match self.index.entry(address) {
            MapEntry::Occupied(e) => *e.get() as usize,
            MapEntry::Vacant(e) => {
                let info = fetch(db, address)?;
                let i = self.list.len();
                e.insert(i as u32);
                let not_existing = info.is_none();
                // Built in the push's argument: built in a callee, returned whole and then
                // moved, it showed in profiles of short transactions.
                self.list.push((
                    address,
                    Account {
                        info: info.unwrap_or_default(),
                        storage: U256Map::with_hasher(slot_hasher.clone()),
                        not_existing,
                        created: false,
                        destroyed: false,
                        touched: false,
                        warm: false,
                    },
                ));
                i
            }
        };
        self.last = i;
        Ok(&mut self.list[i].1)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The larger of the two buffers' capacities, in accounts.
    pub fn capacity(&self) -> usize {
        self.index.capacity().max(self.list.capacity())
    }

    /// Every account in first-touch order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Address, &mut Account)> {
        self.list.iter_mut().map(|(a, acc)| (*a, acc))
    }

    /// Empties the table, keeping its buffers.
    pub fn clear(&mut self) {
        self.index.clear();
        self.list.clear();
        self.last = 0;
    }
}

#[inline(never)]
fn fetch(db: &mut dyn Database, address: Address) -> Result<Option<AccountInfo>, DbError> {
    db.basic(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::InMemoryDb;
    use alloy_primitives::{Bytes, U256};

    #[test]
    fn lookups_alternating_between_accounts_find_each_one() {
        let mut db = InMemoryDb::new();
        for n in 1..=3u8 {
            db.insert_account(Address::with_last_byte(n), U256::from(n), 0, Bytes::new(), []);
        }
        let hasher = FbBuildHasher::default();
        let mut t = AccountTable::with_capacity(2);
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
}
