//! Journaled world state: every change is recorded so a frame can be reverted to its
//! checkpoint, and the net effect of the transaction is read off at the end.

use crate::accounts::AccountTable;
use crate::db::{AccountChange, AccountInfo, Database, DbError, StateChanges};
use crate::precompiles::PrecompileSet;
use crate::result::Log;
use alloy_primitives::map::{hash_map::Entry as MapEntry, FbBuildHasher, HashMap, U256Map};
use alloy_primitives::{Address, Bytes, B256, KECCAK256_EMPTY, U256};
use std::cell::RefCell;

/// Accounts a transaction usually reaches (sender, target, coinbase, a few callees): the
/// account map starts this large so it rarely rehashes.
const ACCOUNTS_CAPACITY: usize = 16;
/// Slots a contract's storage map starts with once its first slot is read.
const SLOTS_CAPACITY: usize = 16;
/// A dropped journal's account table and entry buffers are kept for the thread's next
/// transaction unless they grew beyond these sizes.
const SPARE_MAX_ACCOUNTS: usize = 1024;
const SPARE_MAX_ENTRIES: usize = 4096;

/// The emptied buffers of a dropped journal.
struct Spare {
    accounts: AccountTable,
    slot_hasher: FbBuildHasher<32>,
    entries: Vec<Entry>,
}

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// A storage slot as seen during a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The value when the transaction began (EIP-2200's "original").
    pub original: U256,
    pub present: U256,
    pub warm: bool,
}

/// An account as seen during a transaction.
#[derive(Clone, Debug, Default)]
pub struct Account {
    pub info: AccountInfo,
    pub storage: U256Map<Slot>,
    /// The database had no such account.
    pub not_existing: bool,
    /// Created by CREATE/CREATE2 or a create transaction in this transaction (EIP-6780).
    pub created: bool,
    /// Self-destructed in this transaction; removed at its end.
    pub destroyed: bool,
    /// Modified or touched (EIP-161); only touched accounts are written back.
    pub touched: bool,
    /// Accessed in this transaction (EIP-2929).
    pub warm: bool,
}

impl Account {
    /// EIP-161 emptiness (nonexistent accounts are empty too).
    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Whether the account is in the state: the database has it, or this transaction brought
    /// it into existence (what "exists" means before EIP-161, when empty accounts exist).
    pub fn exists(&self) -> bool {
        !self.not_existing || self.touched
    }
}

/// One undoable change.
#[derive(Clone, Debug)]
enum Entry {
    AccountWarmed(Address),
    AccountTouched(Address),
    AccountCreated(Address),
    AccountDestroyed(Address),
    BalanceChanged(Address, U256),
    NonceChanged(Address, u64),
    CodeChanged(Address, B256, Option<Bytes>),
    StorageChanged(Address, U256, U256),
    StorageWarmed(Address, U256),
    TransientChanged(Address, U256, U256),
}

/// Where to revert to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    entries: usize,
    logs: usize,
}

/// The precompile that stays touched when the touch is reverted: a consensus quirk kept by
/// every client since block 2,675,119 (geth's `ripemd` exception).
const RIPEMD160: Address = Address::with_last_byte(3);

/// The state of one transaction over a database.
pub struct Journal<'db> {
    db: &'db mut dyn Database,
    accounts: AccountTable,
    /// One hasher for every account's storage map, so loading an account does not draw a
    /// new random seed.
    slot_hasher: FbBuildHasher<32>,
    /// Precompiles are warm from the start of the transaction (EIP-2929). They are not loaded
    /// up front: an access finds them warm by this set instead.
    precompiles: Option<PrecompileSet>,
    entries: Vec<Entry>,
    pub logs: Vec<Log>,
    transient: HashMap<(Address, U256), U256>,
    /// EIP-161: touched empty accounts are deleted at the end of the transaction.
    state_clearing: bool,
}

impl<'db> Journal<'db> {
    pub fn new(db: &'db mut dyn Database) -> Self {
        let spare = SPARE
            .try_with(|spare| spare.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten();
        let Spare { accounts, slot_hasher, entries } = spare.unwrap_or_else(|| Spare {
            accounts: AccountTable::with_capacity(ACCOUNTS_CAPACITY),
            slot_hasher: Default::default(),
            entries: Vec::with_capacity(32),
        });
        debug_assert!(accounts.is_empty() && entries.is_empty());
        Self {
            db,
            accounts,
            slot_hasher,
            precompiles: None,
            entries,
            logs: Vec::new(),
            transient: HashMap::default(),
            state_clearing: true,
        }
    }

    /// Whether EIP-161 applies (the default): touched empty accounts are deleted at the end
    /// of the transaction. Without it, an account a transaction touches exists afterwards,
    /// empty or not.
    pub fn set_state_clearing(&mut self, on: bool) {
        self.state_clearing = on;
    }

    pub fn db(&mut self) -> &mut dyn Database {
        self.db
    }

    /// Treats the addresses of `precompiles` as warm from the start, as EIP-2929 requires,
    /// without loading them.
    pub fn set_precompiles(&mut self, precompiles: PrecompileSet) {
        self.precompiles = Some(precompiles);
    }

    /// Whether `address` is warm by being a precompile.
    #[inline]
    fn is_precompile(&self, address: &Address) -> bool {
        // Every precompile address is below 2^16: the 18 leading zero bytes reject all other
        // addresses before the set is asked.
        self.precompiles
            .is_some_and(|p| address.0[..18].iter().all(|&b| b == 0) && p.contains(address))
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { entries: self.entries.len(), logs: self.logs.len() }
    }

    /// Undoes every change made since `cp`.
    pub fn revert(&mut self, cp: Checkpoint) {
        self.logs.truncate(cp.logs);
        while self.entries.len() > cp.entries {
            let entry = self.entries.pop().expect("length checked");
            match entry {
                Entry::AccountWarmed(a) => self.acc(a).warm = false,
                Entry::AccountTouched(a) => {
                    // The quirk is about deleting the precompile as an empty account: before
                    // EIP-161 its touch is undone like any other.
                    if a != RIPEMD160 || !self.state_clearing {
                        self.acc(a).touched = false;
                    }
                }
                Entry::AccountCreated(a) => {
                    let acc = self.acc(a);
                    acc.created = false;
                }
                Entry::AccountDestroyed(a) => self.acc(a).destroyed = false,
                Entry::BalanceChanged(a, old) => self.acc(a).info.balance = old,
                Entry::NonceChanged(a, old) => self.acc(a).info.nonce = old,
                Entry::CodeChanged(a, hash, code) => {
                    let acc = self.acc(a);
                    acc.info.code_hash = hash;
                    acc.info.code = code;
                }
                Entry::StorageChanged(a, key, old) => {
                    if let Some(slot) = self.acc(a).storage.get_mut(&key) {
                        slot.present = old;
                    }
                }
                Entry::StorageWarmed(a, key) => {
                    if let Some(slot) = self.acc(a).storage.get_mut(&key) {
                        slot.warm = false;
                    }
                }
                Entry::TransientChanged(a, key, old) => {
                    if old.is_zero() {
                        self.transient.remove(&(a, key));
                    } else {
                        self.transient.insert((a, key), old);
                    }
                }
            }
        }
    }

    fn acc(&mut self, address: Address) -> &mut Account {
        self.accounts.get_mut(&address).expect("journaled accounts are loaded")
    }

    /// Loads an account without changing its warmth.
    #[inline]
    pub fn load(&mut self, address: Address) -> Result<&mut Account, DbError> {
        self.accounts.load(&mut *self.db, &self.slot_hasher, address)
    }

    /// Loads an account and marks it warm. Returns whether it was cold.
    pub fn load_warm(&mut self, address: Address) -> Result<bool, DbError> {
        let is_precompile = self.is_precompile(&address);
        let acc = self.load(address)?;
        if acc.warm {
            return Ok(false);
        }
        acc.warm = true;
        if is_precompile {
            // Warm for the whole transaction: no journal entry, no revert undoes it.
            return Ok(false);
        }
        self.entries.push(Entry::AccountWarmed(address));
        Ok(true)
    }

    /// Marks an account warm for the whole transaction (access lists, precompiles, coinbase):
    /// no journal entry, so no revert undoes it.
    pub fn warm_permanently(&mut self, address: Address) -> Result<(), DbError> {
        self.load(address)?.warm = true;
        Ok(())
    }

    /// Marks a slot warm for the whole transaction (access lists).
    pub fn warm_slot_permanently(&mut self, address: Address, key: U256) -> Result<(), DbError> {
        self.sload_inner(address, key)?;
        if let Some(slot) = self.acc(address).storage.get_mut(&key) {
            slot.warm = true;
        }
        Ok(())
    }

    pub fn is_warm(&self, address: &Address) -> bool {
        self.accounts.get(address).is_some_and(|a| a.warm) || self.is_precompile(address)
    }

    /// The account's code, loading it from the database if needed.
    pub fn code(&mut self, address: Address) -> Result<Bytes, DbError> {
        Ok(self.code_with_hash(address)?.0)
    }

    /// `f` of the account's code, borrowed rather than cloned (a clone of shared code is an
    /// atomic increment and decrement, on every transaction's sender and target).
    pub fn with_code<R>(
        &mut self,
        address: Address,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, DbError> {
        self.with_code_and_hash(address, |code, _| f(code))
    }

    /// `f` of the account's code and code hash, the code borrowed (see [`Journal::with_code`]).
    pub fn with_code_and_hash<R>(
        &mut self,
        address: Address,
        f: impl FnOnce(&Bytes, B256) -> R,
    ) -> Result<R, DbError> {
        let db = &mut *self.db;
        let acc = self.accounts.load(db, &self.slot_hasher, address)?;
        let code = match &mut acc.info.code {
            Some(code) => code,
            none => none.insert(db.code_by_hash(acc.info.code_hash)?),
        };
        Ok(f(code, acc.info.code_hash))
    }

    /// The account's code and code hash, in one lookup.
    pub fn code_with_hash(&mut self, address: Address) -> Result<(Bytes, B256), DbError> {
        self.with_code_and_hash(address, |code, hash| (code.clone(), hash))
    }

    pub fn touch(&mut self, address: Address) -> Result<(), DbError> {
        self.load_touched(address)?;
        Ok(())
    }

    /// Loads and touches an account in one lookup.
    #[inline]
    fn load_touched(&mut self, address: Address) -> Result<&mut Account, DbError> {
        let acc = self.accounts.load(&mut *self.db, &self.slot_hasher, address)?;
        if !acc.touched {
            acc.touched = true;
            self.entries.push(Entry::AccountTouched(address));
        }
        Ok(acc)
    }

    /// Loads and touches `address`, changes it with `f` and journals the entry `f` returns,
    /// which undoes the change.
    #[inline]
    fn change(
        &mut self,
        address: Address,
        f: impl FnOnce(&mut AccountInfo) -> Entry,
    ) -> Result<(), DbError> {
        let undo = f(&mut self.load_touched(address)?.info);
        self.entries.push(undo);
        Ok(())
    }

    pub fn set_balance(&mut self, address: Address, balance: U256) -> Result<(), DbError> {
        self.change(address, |info| {
            Entry::BalanceChanged(address, std::mem::replace(&mut info.balance, balance))
        })
    }

    pub fn balance(&mut self, address: Address) -> Result<U256, DbError> {
        Ok(self.load(address)?.info.balance)
    }

    /// Moves `value` from `from` to `to`, touching both. Returns false, changing nothing, if
    /// `from` cannot pay.
    pub fn transfer(&mut self, from: Address, to: Address, value: U256) -> Result<bool, DbError> {
        let from_balance = self.balance(from)?;
        if from_balance < value {
            return Ok(false);
        }
        self.load(to)?;
        self.touch(to)?;
        if value.is_zero() {
            return Ok(true);
        }
        self.set_balance(from, from_balance - value)?;
        let to_balance = self.balance(to)?;
        // Total ether supply is far below 2^256, so this cannot overflow in a real state;
        // saturate rather than wrap for synthetic states.
        self.set_balance(to, to_balance.saturating_add(value))?;
        Ok(true)
    }

    pub fn set_nonce(&mut self, address: Address, nonce: u64) -> Result<(), DbError> {
        self.change(address, |info| {
            Entry::NonceChanged(address, std::mem::replace(&mut info.nonce, nonce))
        })
    }

    pub fn set_code(&mut self, address: Address, code: Bytes) -> Result<(), DbError> {
        self.touch(address)?;
        let hash =
            if code.is_empty() { KECCAK256_EMPTY } else { alloy_primitives::keccak256(&code) };
        let acc = self.acc(address);
        let old_hash = std::mem::replace(&mut acc.info.code_hash, hash);
        let old_code = acc.info.code.replace(code);
        self.entries.push(Entry::CodeChanged(address, old_hash, old_code));
        Ok(())
    }

    /// Marks a freshly created account (its storage starts empty).
    pub fn mark_created(&mut self, address: Address) -> Result<(), DbError> {
        self.touch(address)?;
        let acc = self.acc(address);
        acc.created = true;
        self.entries.push(Entry::AccountCreated(address));
        Ok(())
    }

    pub fn mark_destroyed(&mut self, address: Address) -> Result<(), DbError> {
        self.touch(address)?;
        let acc = self.acc(address);
        if !acc.destroyed {
            acc.destroyed = true;
            self.entries.push(Entry::AccountDestroyed(address));
        }
        Ok(())
    }

    /// Whether the account's storage is non-empty in the database (EIP-7610).
    pub fn has_db_storage(&mut self, address: Address) -> Result<bool, DbError> {
        if self.load(address)?.created {
            return Ok(false);
        }
        self.db.has_storage(address)
    }

    #[inline]
    fn sload_inner(&mut self, address: Address, key: U256) -> Result<&mut Slot, DbError> {
        let db = &mut *self.db;
        let acc = self.accounts.load(db, &self.slot_hasher, address)?;
        slot_in(acc, db, address, key)
    }

    /// Reads a slot and warms it. Returns its present value and whether it was cold. (Not
    /// the whole slot: a copy of it, built by parts and read back whole, missed store
    /// forwarding, measured as half of SLOAD's time.)
    pub fn sload(&mut self, address: Address, key: U256) -> Result<(U256, bool), DbError> {
        let slot = self.sload_inner(address, key)?;
        let cold = !slot.warm;
        slot.warm = true;
        let present = slot.present;
        if cold {
            self.entries.push(Entry::StorageWarmed(address, key));
        }
        Ok((present, cold))
    }

    /// Writes a slot.
    pub fn sstore(&mut self, address: Address, key: U256, value: U256) -> Result<(), DbError> {
        self.sstore_warm(address, key, value)?;
        Ok(())
    }

    /// SSTORE's state access in one lookup: reads and warms the slot, then writes `value`
    /// (touching the account if the value changes). Returns the slot as it was before the
    /// write and whether it was cold.
    pub fn sstore_warm(
        &mut self,
        address: Address,
        key: U256,
        value: U256,
    ) -> Result<(Slot, bool), DbError> {
        let db = &mut *self.db;
        let acc = self.accounts.load(db, &self.slot_hasher, address)?;
        let slot = slot_in(acc, db, address, key)?;
        let before = *slot;
        let cold = !slot.warm;
        slot.warm = true;
        let changed = before.present != value;
        if changed {
            slot.present = value;
        }
        let touched = changed && !acc.touched;
        if touched {
            acc.touched = true;
        }
        if cold {
            self.entries.push(Entry::StorageWarmed(address, key));
        }
        if touched {
            self.entries.push(Entry::AccountTouched(address));
        }
        if changed {
            self.entries.push(Entry::StorageChanged(address, key, before.present));
        }
        Ok((before, cold))
    }

    pub fn tload(&self, address: Address, key: U256) -> U256 {
        self.transient.get(&(address, key)).copied().unwrap_or_default()
    }

    pub fn tstore(&mut self, address: Address, key: U256, value: U256) {
        let old = if value.is_zero() {
            self.transient.remove(&(address, key))
        } else {
            self.transient.insert((address, key), value)
        }
        .unwrap_or_default();
        if old != value {
            self.entries.push(Entry::TransientChanged(address, key, old));
        }
    }

    pub fn log(&mut self, log: Log) {
        self.logs.push(log);
    }

    /// The net changes of the transaction, with self-destructed accounts removed and, under
    /// EIP-161, touched empty accounts too. Consumes the journal's accounts.
    pub fn finalize(&mut self) -> StateChanges {
        let state_clearing = self.state_clearing;
        let mut out = Vec::with_capacity(self.accounts.len());
        for (address, acc) in self.accounts.iter_mut() {
            if !acc.touched {
                continue;
            }
            if acc.destroyed || (state_clearing && acc.is_empty()) {
                if !acc.not_existing || acc.destroyed {
                    out.push((
                        address,
                        AccountChange {
                            info: AccountInfo::default(),
                            storage_cleared: true,
                            storage: HashMap::default(),
                            removed: true,
                        },
                    ));
                }
                continue;
            }
            // Filled in place rather than built and moved in: a whole change moved into the
            // vector stalled on its own just-written bytes in profiles of short transactions.
            out.push((
                address,
                AccountChange {
                    info: AccountInfo::default(),
                    storage_cleared: acc.created,
                    storage: HashMap::default(),
                    removed: false,
                },
            ));
            let change = &mut out.last_mut().expect("just pushed").1;
            change.info.take_from(&mut acc.info);
            let created = acc.created;
            change.storage.extend(
                acc.storage
                    .iter()
                    .filter(|(_, s)| created || s.present != s.original)
                    .map(|(k, s)| (*k, s.present)),
            );
        }
        self.accounts.clear();
        self.entries.clear();
        self.transient.clear();
        out
    }
}

impl Drop for Journal<'_> {
    fn drop(&mut self) {
        if self.accounts.capacity() > SPARE_MAX_ACCOUNTS
            || self.entries.capacity() > SPARE_MAX_ENTRIES
        {
            return;
        }
        let mut spare = Spare {
            accounts: std::mem::take(&mut self.accounts),
            slot_hasher: self.slot_hasher.clone(),
            entries: std::mem::take(&mut self.entries),
        };
        spare.accounts.clear();
        spare.entries.clear();
        // During thread teardown the slot may be gone; the buffers are then simply freed.
        let _ = SPARE.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some(spare);
            }
        });
    }
}

/// The slot `key` of `acc` (at `address`), read from `db` on first access.
#[inline]
fn slot_in<'a>(
    acc: &'a mut Account,
    db: &mut dyn Database,
    address: Address,
    key: U256,
) -> Result<&'a mut Slot, DbError> {
    if acc.storage.capacity() == 0 {
        acc.storage.reserve(SLOTS_CAPACITY);
    }
    match acc.storage.entry(key) {
        MapEntry::Occupied(e) => Ok(e.into_mut()),
        MapEntry::Vacant(e) => {
            // A contract created in this transaction starts with empty storage whatever the
            // database says (EIP-7610 makes the two agree on mainnet).
            let value = if acc.created || acc.not_existing {
                U256::ZERO
            } else {
                db.storage(address, key)?
            };
            Ok(e.insert(Slot { original: value, present: value, warm: false }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::InMemoryDb;

    fn addr(n: u8) -> Address {
        Address::with_last_byte(n)
    }

    #[test]
    fn revert_undoes_balance_storage_logs_and_warmth() {
        let mut db = InMemoryDb::new();
        db.insert_account(
            addr(1),
            U256::from(100),
            0,
            Bytes::new(),
            [(U256::from(1), U256::from(7))],
        );
        let mut j = Journal::new(&mut db);
        let cp = j.checkpoint();
        assert!(j.load_warm(addr(1)).unwrap());
        assert!(j.transfer(addr(1), addr(2), U256::from(40)).unwrap());
        let (present, cold) = j.sload(addr(1), U256::from(1)).unwrap();
        assert!(cold);
        assert_eq!(present, U256::from(7));
        j.sstore(addr(1), U256::from(1), U256::from(9)).unwrap();
        j.tstore(addr(1), U256::from(1), U256::from(3));
        j.log(Log { address: addr(1), topics: vec![], data: Bytes::new() });
        j.revert(cp);
        assert_eq!(j.balance(addr(1)).unwrap(), U256::from(100));
        assert_eq!(j.balance(addr(2)).unwrap(), U256::ZERO);
        assert!(!j.is_warm(&addr(1)));
        let (present, cold) = j.sload(addr(1), U256::from(1)).unwrap();
        assert!(cold, "warmth is reverted too");
        assert_eq!(present, U256::from(7));
        assert_eq!(j.tload(addr(1), U256::from(1)), U256::ZERO);
        assert!(j.logs.is_empty());
        // Nothing survived the revert, so nothing is written back.
        assert!(j.finalize().is_empty());
    }

    #[test]
    fn nested_checkpoints_revert_only_inner() {
        let mut db = InMemoryDb::new();
        db.insert_account(addr(1), U256::from(100), 0, Bytes::new(), []);
        let mut j = Journal::new(&mut db);
        assert!(j.transfer(addr(1), addr(2), U256::from(10)).unwrap());
        let inner = j.checkpoint();
        assert!(j.transfer(addr(1), addr(3), U256::from(20)).unwrap());
        j.set_nonce(addr(1), 5).unwrap();
        j.revert(inner);
        assert_eq!(j.balance(addr(1)).unwrap(), U256::from(90));
        let changes = j.finalize();
        let a1 = changes.iter().find(|(a, _)| *a == addr(1)).unwrap();
        assert_eq!(a1.1.info.nonce, 0);
        assert!(changes.iter().all(|(a, _)| *a != addr(3)), "reverted touch is dropped");
        assert!(changes.iter().any(|(a, c)| *a == addr(2) && c.info.balance == U256::from(10)));
    }

    #[test]
    fn touched_empty_accounts_are_removed() {
        let mut db = InMemoryDb::new();
        db.insert_account(addr(1), U256::ZERO, 0, Bytes::new(), []);
        let mut j = Journal::new(&mut db);
        j.touch(addr(1)).unwrap();
        j.touch(addr(9)).unwrap();
        let changes = j.finalize();
        assert_eq!(changes.len(), 1, "a nonexistent touched account stays nonexistent");
        assert!(changes[0].1.removed);
    }

    #[test]
    fn precompiles_are_warm_without_being_loaded() {
        let mut db = InMemoryDb::new();
        let mut j = Journal::new(&mut db);
        j.set_precompiles(PrecompileSet::for_spec(crate::SpecId::Prague));
        assert!(j.is_warm(&addr(1)) && j.is_warm(&addr(0x11)));
        assert!(!j.is_warm(&addr(0x12)), "0x12 is not a precompile in Prague");
        assert!(j.accounts.is_empty(), "nothing is loaded up front");
        let cp = j.checkpoint();
        assert!(!j.load_warm(addr(2)).unwrap(), "a precompile is never cold");
        assert!(j.load_warm(addr(0x12)).unwrap());
        j.revert(cp);
        assert!(j.is_warm(&addr(2)), "a revert does not cool a precompile");
        assert!(!j.is_warm(&addr(0x12)));
        assert!(j.finalize().is_empty());
    }

    #[test]
    fn sstore_warm_reads_warms_and_writes_once() {
        let mut db = InMemoryDb::new();
        db.insert_account(addr(1), U256::ZERO, 1, Bytes::new(), [(U256::from(5), U256::from(7))]);
        let mut j = Journal::new(&mut db);
        let cp = j.checkpoint();
        let (before, cold) = j.sstore_warm(addr(1), U256::from(5), U256::from(8)).unwrap();
        assert!(cold);
        assert_eq!((before.original, before.present), (U256::from(7), U256::from(7)));
        let (before, cold) = j.sstore_warm(addr(1), U256::from(5), U256::from(8)).unwrap();
        assert!(!cold);
        assert_eq!((before.original, before.present), (U256::from(7), U256::from(8)));
        j.revert(cp);
        let (present, cold) = j.sload(addr(1), U256::from(5)).unwrap();
        assert!(cold, "the revert undoes the warming");
        assert_eq!(present, U256::from(7), "and the write");
        assert!(j.finalize().is_empty(), "and the touch");
    }

    #[test]
    fn failed_transfer_changes_nothing() {
        let mut db = InMemoryDb::new();
        db.insert_account(addr(1), U256::from(5), 0, Bytes::new(), []);
        let mut j = Journal::new(&mut db);
        assert!(!j.transfer(addr(1), addr(2), U256::from(6)).unwrap());
        assert!(j.finalize().is_empty());
    }
}
