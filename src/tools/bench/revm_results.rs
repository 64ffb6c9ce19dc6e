//! revm's results read in Kiln's terms, for comparing the two: the revm mode of `kiln bench`
//! and the differential test (which compiles this file in on its own) use these.

use alloy_primitives::map::HashMap;
use alloy_primitives::{Address, Bytes, B256, U256};
use kiln_runtime::AccountChange;
use revm::context::result::ExecutionResult;
use revm::state::EvmState;

/// revm's state changes of one transaction as Kiln's. EIP-161: an account that revm reports
/// as touched and empty is removed, as is one it self-destructed.
pub fn kiln_changes(state: &EvmState) -> kiln_runtime::StateChanges {
    let mut changes = Vec::new();
    for (address, account) in state {
        if !account.is_touched() {
            continue;
        }
        let info = kiln_runtime::AccountInfo {
            balance: account.info.balance,
            nonce: account.info.nonce,
            code_hash: account.info.code_hash,
            code: account.info.code.as_ref().map(|c| c.original_bytes()),
        };
        let storage: HashMap<U256, U256> =
            account.storage.iter().map(|(k, slot)| (*k, slot.present_value())).collect();
        let change = AccountChange {
            info,
            storage_cleared: account.is_created(),
            storage,
            removed: account.is_selfdestructed() || account.is_empty(),
        };
        changes.push((*address, change));
    }
    changes
}

/// The output as Kiln reports it. revm reports the deployed code as the output of a
/// successful creation; Kiln, like the return data of CREATE inside the EVM, reports none. The
/// code is in the state root either way.
pub fn comparable_output(r: &ExecutionResult, create: bool) -> Bytes {
    if create && r.is_success() {
        Bytes::new()
    } else {
        r.output().cloned().unwrap_or_default()
    }
}

/// `(address, topics, data)` of each log; none for a failed transaction (its receipt has none).
pub fn receipt_logs(r: &ExecutionResult) -> Vec<(Address, Vec<B256>, Bytes)> {
    if !r.is_success() {
        return Vec::new();
    }
    r.logs().iter().map(|l| (l.address, l.data.topics().to_vec(), l.data.data.clone())).collect()
}
