//! A block's working state: an overlay over the caller's database, so that only a valid
//! block's changes ever reach it, and the state root over the database with those changes.

use alloy_primitives::map::{AddressMap, B256Map};
use alloy_primitives::{Address, Bytes, B256, U256};
use kiln_runtime::{
    AccountChange, AccountInfo, Database, DatabaseCommit, DbError, InMemoryDb, StateChanges,
};

/// The net changes of the part of a block executed so far, one entry per account: what
/// [`StateRoot::state_root_with`] adds to a database. A `removed` entry is an account that
/// no longer exists; an entry whose `storage_cleared` is set ignores the database's storage
/// (the account was destroyed, or created anew, during the block).
pub type PendingState = AddressMap<AccountChange>;

/// A database that can give the Merkle Patricia root of its whole state, which
/// [`Database`] cannot (it reads one account or slot at a time). The block executor needs
/// it for the header's state root, and before Byzantium for each receipt's.
pub trait StateRoot {
    /// The state root the database would have with `pending` committed.
    fn state_root_with(&self, pending: &PendingState) -> B256;
}

impl<D: StateRoot + ?Sized> StateRoot for &mut D {
    fn state_root_with(&self, pending: &PendingState) -> B256 {
        (**self).state_root_with(pending)
    }
}

impl StateRoot for InMemoryDb {
    fn state_root_with(&self, pending: &PendingState) -> B256 {
        let untouched = self
            .accounts()
            .filter(|(address, _)| !pending.contains_key(*address))
            .map(|(address, account)| (*address, trie_account(&account.info, &account.storage)));
        let touched =
            pending.iter().filter(|(_, change)| !change.removed).map(|(address, change)| {
                // The database's slots that the block did not write (none when it cleared them),
                // then the block's.
                let kept = match self.account(address) {
                    Some(account) if !change.storage_cleared => account
                        .storage
                        .iter()
                        .filter(|(slot, _)| !change.storage.contains_key(*slot))
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                let storage = kept.into_iter().chain(&change.storage);
                (*address, trie_account(&change.info, storage))
            });
        alloy_trie::root::state_root_unhashed(untouched.chain(touched))
    }
}

/// An account as the state trie holds it, its storage root computed from `storage` (zero
/// slots left out: they are deleted).
fn trie_account<'a>(
    info: &AccountInfo,
    storage: impl IntoIterator<Item = (&'a U256, &'a U256)>,
) -> alloy_trie::TrieAccount {
    let storage_root = alloy_trie::root::storage_root_unhashed(
        storage.into_iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (B256::from(*k), *v)),
    );
    alloy_trie::TrieAccount::new(info.nonce, info.balance, storage_root, info.code_hash)
}

/// A block's working state: reads go to the changes made so far in the block, then to the
/// database; each transaction's (or system call's, or balance change's) [`StateChanges`]
/// merge in order. Nothing reaches the database until [`BlockState::into_changes`] is
/// committed, which the executor does only for a valid block.
pub struct BlockState<'a, DB> {
    db: &'a mut DB,
    pending: PendingState,
    /// Code deployed during the block, by hash.
    contracts: B256Map<Bytes>,
}

impl<'a, DB: Database> BlockState<'a, DB> {
    pub fn new(db: &'a mut DB) -> Self {
        Self { db, pending: PendingState::default(), contracts: B256Map::default() }
    }

    /// The changes so far.
    pub fn pending(&self) -> &PendingState {
        &self.pending
    }

    /// The database underneath.
    pub fn db(&self) -> &DB {
        self.db
    }

    /// The block's net changes, for [`DatabaseCommit::commit`].
    pub fn into_changes(self) -> StateChanges {
        self.pending.into_iter().collect()
    }
}

impl<DB: StateRoot> BlockState<'_, DB> {
    /// The state root of the database with the block's changes so far.
    pub fn state_root(&self) -> B256 {
        self.db.state_root_with(&self.pending)
    }
}

impl<DB: Database> Database for BlockState<'_, DB> {
    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
        match self.pending.get(&address) {
            Some(change) if change.removed => Ok(None),
            Some(change) => Ok(Some(change.info.clone())),
            None => self.db.basic(address),
        }
    }

    /// As `basic`, in place (see `Database::basic_into`), so that a block's transactions
    /// read their accounts as a lone transaction on the database does.
    fn basic_into(&mut self, address: Address, info: &mut AccountInfo) -> Result<bool, DbError> {
        match self.pending.get(&address) {
            Some(change) if change.removed => Ok(false),
            Some(change) => {
                info.clone_from(&change.info);
                Ok(true)
            }
            None => self.db.basic_into(address, info),
        }
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError> {
        match self.contracts.get(&code_hash) {
            Some(code) => Ok(code.clone()),
            None => self.db.code_by_hash(code_hash),
        }
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
        match self.pending.get(&address) {
            Some(change) => match change.storage.get(&index) {
                Some(value) => Ok(*value),
                None if change.storage_cleared => Ok(U256::ZERO),
                None => self.db.storage(address, index),
            },
            None => self.db.storage(address, index),
        }
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
        self.db.block_hash(number)
    }

    /// EIP-7610's question. A slot the block set answers it; otherwise the database does,
    /// unless the block cleared the account's storage. (Had the block zeroed every slot the
    /// database holds without clearing, the database would still say yes: only an account
    /// with code can write its storage, and creating over an account with code or a nonce
    /// collides anyway, so the answer cannot change a result.)
    fn has_storage(&mut self, address: Address) -> Result<bool, DbError> {
        match self.pending.get(&address) {
            Some(change) if change.storage.values().any(|v| !v.is_zero()) => Ok(true),
            Some(change) if change.storage_cleared => Ok(false),
            _ => self.db.has_storage(address),
        }
    }
}

impl<DB> DatabaseCommit for BlockState<'_, DB> {
    /// Merges one transaction's changes into the block's. A removed account's entry clears
    /// its storage, so that an account created again later in the block starts without the
    /// database's (the later change, merged into that entry, keeps `storage_cleared`).
    fn commit(&mut self, changes: StateChanges) {
        for (address, change) in changes {
            if let Some(code) = change.info.code.as_ref().filter(|code| !code.is_empty()) {
                self.contracts.entry(change.info.code_hash).or_insert_with(|| code.clone());
            }
            let entry = self.pending.entry(address).or_insert_with(|| AccountChange {
                info: AccountInfo::default(),
                storage_cleared: false,
                storage: Default::default(),
                removed: false,
            });
            if change.removed {
                *entry = AccountChange {
                    info: AccountInfo::default(),
                    storage_cleared: true,
                    storage: Default::default(),
                    removed: true,
                };
                continue;
            }
            if change.storage_cleared {
                entry.storage.clear();
                entry.storage_cleared = true;
            }
            entry.removed = false;
            entry.storage.extend(change.storage);
            entry.info = change.info;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    const A: Address = address!("0x00000000000000000000000000000000000000aa");
    const B: Address = address!("0x00000000000000000000000000000000000000bb");

    fn change(balance: u64, cleared: bool, slots: &[(u64, u64)], removed: bool) -> AccountChange {
        AccountChange {
            info: AccountInfo::new(U256::from(balance), 1, Bytes::new()),
            storage_cleared: cleared,
            storage: slots.iter().map(|&(k, v)| (U256::from(k), U256::from(v))).collect(),
            removed,
        }
    }

    fn db() -> InMemoryDb {
        let mut db = InMemoryDb::new();
        let slots = [(U256::from(1), U256::from(10)), (U256::from(2), U256::from(20))];
        db.insert_account(A, U256::from(5), 1, Bytes::new(), slots);
        db.insert_account(B, U256::from(6), 0, Bytes::new(), []);
        db
    }

    /// Reads see the block's changes over the database's state, a removed account and its
    /// storage are gone, an account created again starts with empty storage, and the
    /// state root with the pending changes is the root of the database they are committed
    /// to; the database itself is untouched until then.
    #[test]
    fn overlay_reads_merges_and_roots() {
        let mut base = db();
        let before = base.state_root();
        let mut state = BlockState::new(&mut base);
        state.commit(vec![(A, change(7, false, &[(1, 11), (3, 30)], false))]);
        assert_eq!(state.storage(A, U256::from(1)).unwrap(), U256::from(11));
        assert_eq!(state.storage(A, U256::from(2)).unwrap(), U256::from(20), "read through");
        assert_eq!(state.basic(A).unwrap().unwrap().balance, U256::from(7));
        state.commit(vec![(B, change(0, false, &[], true))]);
        assert_eq!(state.basic(B).unwrap(), None);

        let root = state.state_root();
        let mut expected = db();
        expected.commit(state.pending().clone().into_iter().collect());
        assert_eq!(root, expected.state_root());

        // Destroyed, then funded again: the database's slots are gone for good.
        state.commit(vec![(A, change(0, true, &[], true))]);
        assert_eq!(state.storage(A, U256::from(2)).unwrap(), U256::ZERO);
        state.commit(vec![(A, change(9, false, &[], false))]);
        assert_eq!(state.storage(A, U256::from(2)).unwrap(), U256::ZERO);
        assert!(!state.has_storage(A).unwrap());
        let root = state.state_root();
        let changes = state.into_changes();
        assert_eq!(base.state_root(), before, "nothing reached the database");
        base.commit(changes);
        assert_eq!(base.state_root(), root);
        assert!(base.account(&A).unwrap().storage.is_empty());
        assert!(base.account(&B).is_none());
    }

    /// In place or not, an account reads the same through the overlay: pending, removed, or
    /// read through to the database; a missing one leaves the old value untouched.
    #[test]
    fn basic_into_reads_what_basic_reads() {
        let mut base = db();
        let mut state = BlockState::new(&mut base);
        state.commit(vec![(A, change(7, false, &[], false)), (B, change(0, false, &[], true))]);
        let stale = AccountInfo::new(U256::from(99), 9, Bytes::from_static(&[0x00]));
        let c = address!("0x00000000000000000000000000000000000000cc");
        let mut base2 = db();
        base2.insert_account(c, U256::from(3), 0, Bytes::new(), []);
        let mut through = BlockState::new(&mut base2);
        let check = |state: &mut BlockState<'_, InMemoryDb>, address: Address| {
            let mut info = stale.clone();
            let exists = state.basic_into(address, &mut info).unwrap();
            let expected = state.basic(address).unwrap();
            assert_eq!(exists, expected.is_some(), "{address}");
            assert_eq!(info, expected.unwrap_or_else(|| stale.clone()), "{address}");
        };
        check(&mut state, A);
        check(&mut state, B);
        check(&mut through, c);
    }
}
