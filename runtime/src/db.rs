//! The database behind the journaled state, and an in-memory implementation.

use alloy_primitives::map::{AddressMap, B256Map, HashMap};
use alloy_primitives::{keccak256, Address, Bytes, B256, KECCAK256_EMPTY, U256};

/// An account as a database stores it.
#[derive(Debug, PartialEq, Eq)]
pub struct AccountInfo {
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
    /// The code, when the database has it at hand; otherwise [`Database::code_by_hash`] is asked.
    pub code: Option<Bytes>,
}

impl Clone for AccountInfo {
    fn clone(&self) -> Self {
        Self {
            balance: self.balance,
            nonce: self.nonce,
            code_hash: self.code_hash,
            code: self.code.clone(),
        }
    }

    /// Field by field into `self`, with no whole copy built first (see
    /// [`Database::basic_into`]).
    fn clone_from(&mut self, source: &Self) {
        self.balance = source.balance;
        self.nonce = source.nonce;
        self.code_hash = source.code_hash;
        self.code.clone_from(&source.code);
    }
}

impl Default for AccountInfo {
    fn default() -> Self {
        Self { balance: U256::ZERO, nonce: 0, code_hash: KECCAK256_EMPTY, code: Some(Bytes::new()) }
    }
}

impl AccountInfo {
    /// Moves `from` into `self` field by field, leaving `from`'s code `None` (see
    /// [`Database::basic_into`] for why not as a whole).
    pub fn take_from(&mut self, from: &mut AccountInfo) {
        self.balance = from.balance;
        self.nonce = from.nonce;
        self.code_hash = from.code_hash;
        self.code = from.code.take();
    }

    pub fn new(balance: U256, nonce: u64, code: Bytes) -> Self {
        let code_hash = if code.is_empty() { KECCAK256_EMPTY } else { keccak256(&code) };
        Self { balance, nonce, code_hash, code: Some(code) }
    }

    /// EIP-161 emptiness: no code, zero nonce, zero balance.
    pub fn is_empty(&self) -> bool {
        self.balance.is_zero() && self.nonce == 0 && self.code_hash == KECCAK256_EMPTY
    }
}

/// A database error, carried as text: Kiln cannot recover from it, only report it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DbError(pub String);

/// Read access to the world state before the transaction.
pub trait Database {
    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError>;

    /// [`Database::basic`] written into `info` (left as it is when the account does not
    /// exist); returns whether it exists. The journal loads accounts through this, into their
    /// place in its table: a database that can copy the account there directly saves moving
    /// it through the stack, which profiles of short transactions showed stalling on its
    /// just-written bytes.
    fn basic_into(&mut self, address: Address, info: &mut AccountInfo) -> Result<bool, DbError> {
        Ok(self.basic(address)?.map(|found| *info = found).is_some())
    }
    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError>;
    fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError>;
    fn block_hash(&mut self, number: u64) -> Result<B256, DbError>;

    /// Whether the account has any non-zero storage. EIP-7610 refuses to create a contract
    /// over such an account. A database that cannot tell may keep the default.
    fn has_storage(&mut self, address: Address) -> Result<bool, DbError> {
        let _ = address;
        Ok(false)
    }
}

/// A borrowed database is one: an EVM can run on state its caller keeps (a fresh copy per
/// state-test case, a block's working state) and read it back when the EVM is gone.
impl<D: Database + ?Sized> Database for &mut D {
    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
        (**self).basic(address)
    }

    fn basic_into(&mut self, address: Address, info: &mut AccountInfo) -> Result<bool, DbError> {
        (**self).basic_into(address, info)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError> {
        (**self).code_by_hash(code_hash)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
        (**self).storage(address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
        (**self).block_hash(number)
    }

    fn has_storage(&mut self, address: Address) -> Result<bool, DbError> {
        (**self).has_storage(address)
    }
}

/// The net effect of a transaction on one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountChange {
    pub info: AccountInfo,
    /// The account's storage was wiped before `storage` applies (it was destroyed or created
    /// anew in this transaction).
    pub storage_cleared: bool,
    /// Slots written, with their new values (zero means deleted).
    pub storage: HashMap<U256, U256>,
    /// The account no longer exists (self-destructed, or touched while empty under EIP-161).
    pub removed: bool,
}

/// The state changes of one transaction, in the order accounts were first touched.
pub type StateChanges = Vec<(Address, AccountChange)>;

/// A database that can apply a transaction's changes.
pub trait DatabaseCommit {
    fn commit(&mut self, changes: StateChanges);
}

impl<D: DatabaseCommit + ?Sized> DatabaseCommit for &mut D {
    fn commit(&mut self, changes: StateChanges) {
        (**self).commit(changes)
    }
}

/// An account held by [`InMemoryDb`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbAccount {
    pub info: AccountInfo,
    pub storage: HashMap<U256, U256>,
}

/// A complete world state in memory: what state tests, `kiln run` and benchmarks use.
/// Keyed with alloy's fixed-width hashers, as the journal is: an address or a code hash is
/// already uniformly random, and hashing it with the general-purpose hasher showed in the
/// profile of a short transaction.
#[derive(Clone, Debug, Default)]
pub struct InMemoryDb {
    accounts: AddressMap<DbAccount>,
    contracts: B256Map<Bytes>,
    block_hashes: HashMap<u64, B256>,
}

impl InMemoryDb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces an account with its code and storage. Zero-valued slots are dropped.
    pub fn insert_account(
        &mut self,
        address: Address,
        balance: U256,
        nonce: u64,
        code: Bytes,
        storage: impl IntoIterator<Item = (U256, U256)>,
    ) {
        let info = AccountInfo::new(balance, nonce, code.clone());
        if !code.is_empty() {
            self.contracts.insert(info.code_hash, code);
        }
        let storage = storage.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        self.accounts.insert(address, DbAccount { info, storage });
    }

    pub fn insert_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
    }

    pub fn account(&self, address: &Address) -> Option<&DbAccount> {
        self.accounts.get(address)
    }

    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &DbAccount)> {
        self.accounts.iter()
    }

    /// The Merkle Patricia root over all accounts, as a block header would carry it.
    pub fn state_root(&self) -> B256 {
        alloy_trie::root::state_root_unhashed(self.accounts.iter().map(|(address, account)| {
            let storage_root = alloy_trie::root::storage_root_unhashed(
                account
                    .storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (B256::from(*k), *v)),
            );
            let info = &account.info;
            (
                *address,
                alloy_trie::TrieAccount::new(
                    info.nonce,
                    info.balance,
                    storage_root,
                    info.code_hash,
                ),
            )
        }))
    }
}

impl Database for InMemoryDb {
    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
        Ok(self.accounts.get(&address).map(|a| a.info.clone()))
    }

    fn basic_into(&mut self, address: Address, info: &mut AccountInfo) -> Result<bool, DbError> {
        Ok(self.accounts.get(&address).map(|a| info.clone_from(&a.info)).is_some())
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError> {
        if code_hash == KECCAK256_EMPTY {
            return Ok(Bytes::new());
        }
        self.contracts
            .get(&code_hash)
            .cloned()
            .ok_or_else(|| DbError(format!("no code for hash {code_hash}")))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
        Ok(self
            .accounts
            .get(&address)
            .and_then(|a| a.storage.get(&index).copied())
            .unwrap_or_default())
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
        // State tests define BLOCKHASH(n) as keccak256 of n's decimal string when no history
        // was given, as the reference implementations do.
        Ok(self
            .block_hashes
            .get(&number)
            .copied()
            .unwrap_or_else(|| keccak256(number.to_string().as_bytes())))
    }

    fn has_storage(&mut self, address: Address) -> Result<bool, DbError> {
        Ok(self.has_storage_impl(&address))
    }
}

impl InMemoryDb {
    fn has_storage_impl(&self, address: &Address) -> bool {
        self.accounts.get(address).is_some_and(|a| a.storage.values().any(|v| !v.is_zero()))
    }
}

impl DatabaseCommit for InMemoryDb {
    fn commit(&mut self, mut changes: StateChanges) {
        // By reference: moving each change out of the vector copies its ~180 bytes, which
        // showed in profiles of short transactions.
        for (address, change) in changes.iter_mut() {
            if change.removed {
                self.accounts.remove(address);
                continue;
            }
            let account = self.accounts.entry(*address).or_default();
            if let Some(code) = &change.info.code {
                // Code is written once; an account whose code hash is unchanged has its code in
                // the map already.
                if !code.is_empty() && account.info.code_hash != change.info.code_hash {
                    self.contracts.entry(change.info.code_hash).or_insert_with(|| code.clone());
                }
            }
            if change.storage_cleared {
                account.storage.clear();
            }
            for (k, v) in change.storage.drain() {
                if v.is_zero() {
                    account.storage.remove(&k);
                } else {
                    account.storage.insert(k, v);
                }
            }
            account.info.take_from(&mut change.info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    /// A database with only the required methods: `basic_into` is the trait's own.
    struct Plain(InMemoryDb);

    impl Database for Plain {
        fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, DbError> {
            self.0.basic(address)
        }
        fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytes, DbError> {
            self.0.code_by_hash(code_hash)
        }
        fn storage(&mut self, address: Address, index: U256) -> Result<U256, DbError> {
            self.0.storage(address, index)
        }
        fn block_hash(&mut self, number: u64) -> Result<B256, DbError> {
            self.0.block_hash(number)
        }
    }

    /// Both ways of reading an account into a used `AccountInfo` agree with `basic`: the
    /// account's fields when it exists (the code too), the old value untouched when not.
    #[test]
    fn basic_into_writes_what_basic_returns() {
        let mut db = InMemoryDb::new();
        let a = Address::with_last_byte(1);
        db.insert_account(a, U256::from(5), 2, Bytes::from_static(&[0x00]), []);
        let stale = AccountInfo::new(U256::from(9), 9, Bytes::from_static(&[0x60, 0x01]));
        let mut plain = Plain(db.clone());
        let dbs: [&mut dyn Database; 2] = [&mut db, &mut plain];
        for db in dbs {
            let mut info = stale.clone();
            assert!(db.basic_into(a, &mut info).unwrap());
            assert_eq!(Some(info), db.basic(a).unwrap());
            let mut info = stale.clone();
            assert!(!db.basic_into(Address::with_last_byte(2), &mut info).unwrap());
            assert_eq!(info, stale);
        }
    }

    #[test]
    fn empty_state_root() {
        assert_eq!(
            InMemoryDb::new().state_root(),
            b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
        );
    }

    #[test]
    fn commit_applies_and_removes() {
        let mut db = InMemoryDb::new();
        let a = address!("0000000000000000000000000000000000000001");
        db.insert_account(a, U256::from(5), 0, Bytes::new(), [(U256::from(1), U256::from(2))]);
        let mut storage = HashMap::default();
        storage.insert(U256::from(1), U256::ZERO);
        storage.insert(U256::from(3), U256::from(4));
        db.commit(vec![(
            a,
            AccountChange {
                info: AccountInfo::new(U256::from(7), 1, Bytes::new()),
                storage_cleared: false,
                storage,
                removed: false,
            },
        )]);
        let acc = db.account(&a).unwrap();
        assert_eq!(acc.info.balance, U256::from(7));
        assert_eq!(acc.storage.len(), 1);
        assert_eq!(acc.storage[&U256::from(3)], U256::from(4));
        db.commit(vec![(
            a,
            AccountChange {
                info: AccountInfo::default(),
                storage_cleared: true,
                storage: HashMap::default(),
                removed: true,
            },
        )]);
        assert!(db.account(&a).is_none());
    }
}
