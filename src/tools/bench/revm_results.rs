//! revm's results read in Kiln's terms, for comparing the two: the revm mode of `kiln bench`
//! and the differential test (which compiles this file in on its own) use these.

use alloy_primitives::map::HashMap;
use alloy_primitives::{Address, Bytes, B256, U256};
use kiln_runtime::AccountChange;
use revm::context::result::ExecutionResult;
use revm::primitives::hardfork::SpecId;
use revm::state::EvmState;

/// revm's fork for Kiln's; `None` for Constantinople, which revm does not implement (its
/// EIP-1283 was withdrawn before it reached mainnet).
pub fn revm_spec(spec: kiln_runtime::SpecId) -> Option<SpecId> {
    use kiln_runtime::SpecId as K;
    Some(match spec {
        K::Frontier => SpecId::FRONTIER,
        K::Homestead => SpecId::HOMESTEAD,
        K::TangerineWhistle => SpecId::TANGERINE,
        K::SpuriousDragon => SpecId::SPURIOUS_DRAGON,
        K::Byzantium => SpecId::BYZANTIUM,
        K::Constantinople => return None,
        K::Petersburg => SpecId::PETERSBURG,
        K::Istanbul => SpecId::ISTANBUL,
        K::Berlin => SpecId::BERLIN,
        K::London => SpecId::LONDON,
        K::Paris => SpecId::MERGE,
        K::Shanghai => SpecId::SHANGHAI,
        K::Cancun => SpecId::CANCUN,
        K::Prague => SpecId::PRAGUE,
        K::Osaka => SpecId::OSAKA,
    })
}

/// revm's state changes of one transaction under `spec` as Kiln's: an account that revm
/// self-destructed is removed, and from EIP-161 on one it reports as touched and empty.
pub fn kiln_changes(state: &EvmState, spec: SpecId) -> kiln_runtime::StateChanges {
    let state_clearing = spec.is_enabled_in(SpecId::SPURIOUS_DRAGON);
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
            removed: account.is_selfdestructed() || (state_clearing && account.is_empty()),
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
