// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IERC20Like {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

/// @title Rollup: zkperp's L1 contract (state roots, the L1 request queue, withdrawals, escape)
/// @notice Accepts a new state root only with a valid PLONK proof over public inputs that this
/// contract rebuilds itself (layout v2, section 6): [old root = the stored root, new root,
/// batch number = the next one, timestamp, then 3 words per pubdata record (the record
/// zero-padded to 80 bytes, split 31 + 31 + 18 bytes, big-endian)]. The verifier is picked by
/// the number of records (n_slots). It holds the collateral (one ERC-20) for every account.
///
/// Roles and keys.
/// - The operator (set at deploy) is the only address that may submit batches. Its key is a
///   hot key held by the operator's submitting process (the sequencer host); it cannot move
///   funds: a batch is accepted only with a valid proof of the state transition, so a stolen
///   key can only submit valid batches or stop submitting (users then force withdrawals and,
///   past the deadline, freeze the contract). Only the operator itself may hand the role to a
///   new address (`setOperator`, key rotation); nobody else can change it.
/// - Nothing else is mutable: the verifiers (one per batch size), the token, the windows and
///   the Poseidon contracts are fixed at deploy; the oracle set and the market parameters are
///   committed in the state root's config_hash (genesis) and no transaction changes them. There
///   is no upgrade path: a new configuration is a new deployment.
///
/// L1 requests (one FIFO queue, consumed in order by the batches' deposit and forced-withdrawal
/// records; the record must carry exactly the queued request):
/// - `deposit(pubkey, amount)` pulls `amount` tokens; the request is keccak256(1, pubkey,
///   depositor, amount). An executed deposit record credits the L2 account; a refused one
///   (`executed` = 0) makes the amount claimable by the depositor through `withdraw()`.
///   The key is checked first (`validDepositKey`, rollup.types.valid_deposit_key): it must
///   unpack exactly as circomlibjs's `unpackPoint` / circuits.gadgets.babyjubjub.unpack_point
///   do (y < r, x != 0 exists) and must not be one of the 8 points of small order; else the
///   deposit reverts InvalidPublicKey and no token moves. So no proven batch ever has to
///   refuse a deposit for its key. Keys outside the prime-order subgroup (a small-order
///   component added to a subgroup point) are accepted, as the rollup accepts them.
/// - `requestForcedWithdrawal(account, amount)`: keccak256(3, account, msg.sender, amount);
///   an executed record credits `amount` to msg.sender's pending withdrawals, a refused one
///   (the account's L1 address is not the requester, or the collateral is not free) pays
///   nothing. Either way the request leaves the queue.
/// - Withdrawal records credit `pendingWithdrawals[l1_address]`; `withdraw()` pays it once.
///
/// Timestamps: a batch's timestamp t must satisfy lastTimestamp <= t <= block.timestamp and
/// block.timestamp - t <= timestampWindow (constructor; e.g. 1 hour): the batch's "now" (order
/// expiry, funding ticks) is never in L1's future and never older than the window.
///
/// Freeze and escape (StarkEx's Freezable/PerpetualEscapes, zkSync Lite's exodus mode).
/// - If a forced withdrawal has waited in the queue more than `forcedDeadline` seconds
///   (constructor; 7 days in production as StarkEx, seconds in tests), anyone may `freeze()`.
///   Once frozen no batch is accepted, no request is queued, and:
/// - each account may `exit` ONCE with a Merkle proof of its leaf in the last accepted state
///   (4-ary Poseidon accounts tree, leaf P5(static, collateral, orders_root, sizes, funding),
///   root P6(accounts_root, ...), checked with circomlibjs's Poseidon contracts). It pays the
///   account's total value to the leaf's L1 address: collateral + sum(size * price) -
///   unsettled funding sum((index - cached) * size), in 2^-32 quanta, floored at 0 and
///   rounded down to whole quanta, at the last committed oracle prices and funding indices.
///   Those are taken from the accepted pubdata itself (oracle and funding records update them;
///   the genesis prices are a constructor argument, the genesis indices are 0), so an exit
///   needs no opening of the market leaves. Open orders are ignored.
/// - Shortfall: accounts with negative value pay nothing, so their loss stays in the
///   contract's books. Exits are paid first come, first served from the escape pool = the
///   token balance minus what is owed elsewhere (pending withdrawals and refunds, and queued,
///   unconsumed deposits); an exit larger than what is left gets what is left (the event
///   records both figures). Pro rata would need every claim known before any payment (a claim
///   window); that is not implemented.
/// - Deposits still in the queue at the freeze never reached L2: each depositor may
///   `reclaimDeposit` its own, once.
/// - Pending withdrawals and refunds stay claimable with `withdraw()` after the freeze.
///
/// The collateral must be a plain ERC-20 (no fee on transfer, no rebasing): the contract
/// credits the amounts it asked for. Gas: bench/test_bench_rollup_gas.py.
contract Rollup {
    uint256 private constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 private constant CHUNK_BYTES = 16;
    // chunks per record type (4 bits each, type t at bits 4t): noop 1, deposit 5, withdrawal 3,
    // forced 3, transfer 2, trade 3, funding 3, oracle 1, liquidate 3, deleverage 2
    uint256 private constant CHUNKS = 0x2313323351;
    uint256 private constant N_TYPES = 10;
    uint256 private constant T_DEPOSIT = 1;
    uint256 private constant T_WITHDRAWAL = 2;
    uint256 private constant T_FORCED = 3;
    uint256 private constant T_FUNDING = 6;
    uint256 private constant T_ORACLE = 7;
    uint256 private constant MAX_MARKETS = 4;
    uint256 private constant AMOUNT_BOUND = 1 << 63;
    // Baby Jubjub (EIP-2494): a x^2 + y^2 = 1 + d x^2 y^2 over F_r
    uint256 private constant BJ_A = 168700;
    uint256 private constant BJ_D = 168696;
    // circomlibjs packPoint of the 8 points of small order (8 * P = identity), sorted:
    // (x4, 0), (-x4, 0) of order 4, (0, -1) of order 2, (0, 1) the identity, then the four of
    // order 8; tests/test_rollup_contract.py derives them with circuits.gadgets.babyjubjub
    bytes32 private constant SMALL_0 = 0x0000000000000000000000000000000000000000000000000000000000000000;
    bytes32 private constant SMALL_1 = 0x0000000000000000000000000000000000000000000000000000000000000080;
    bytes32 private constant SMALL_2 = 0x000000f093f5e1439170b97948e833285d588181b64550b829a031e1724e6430;
    bytes32 private constant SMALL_3 = 0x0100000000000000000000000000000000000000000000000000000000000000;
    bytes32 private constant SMALL_4 = 0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab0a;
    bytes32 private constant SMALL_5 = 0x77d6d0af811efdaba0b534826dc591b72c94a64b7d12c16314d3721121b7ab8a;
    bytes32 private constant SMALL_6 = 0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b825;
    bytes32 private constant SMALL_7 = 0x8a292f4012d7e497f0ba84f7da22a27030c4da3539338f5415cdbecf5197b8a5;
    bytes4 private constant POSEIDON4 = bytes4(keccak256("poseidon(uint256[4])"));
    bytes4 private constant POSEIDON5 = bytes4(keccak256("poseidon(uint256[5])"));
    bytes4 private constant POSEIDON6 = bytes4(keccak256("poseidon(uint256[6])"));

    struct Config {
        uint256 genesisRoot;
        address token;
        address operator;
        uint256[] verifierSlots; // n_slots of each verifier
        address[] verifiers;
        uint256 timestampWindow; // seconds
        uint256 forcedDeadline; // seconds
        uint256 accountDepth; // 4-ary levels of the accounts tree (1..16)
        address[3] poseidon; // circomlibjs Poseidon contracts for 4, 5 and 6 inputs
        uint256[4] genesisPrices; // PRICE_SCALE (2^32), 0 for unused markets
    }

    // A queued request in one storage word: the high 192 bits of keccak256 of its fields,
    // then the request time (bits 1..63) and the forced flag (bit 0). 192 bits leave a
    // second preimage at 2^192 work; 0 = no request (consumed, reclaimed or never queued).
    uint256 private constant LOW64 = (1 << 64) - 1;

    /// @notice An account's opening for `exit`: its leaf parts (layout v2 section 2), the other
    /// five fields of the state root (section 3) and the 3 siblings per 4-ary level.
    struct ExitProof {
        uint32 account;
        uint256[4] staticFields; // pubkey.x, pubkey.y, l1_address, nonce
        int256 collateral; // quanta
        uint256 ordersRoot;
        int256[4] sizes;
        int256[4] funding; // cached global funding indices
        uint256[5] rootFields; // markets_hash, config_hash, insurance_dust, next_account, funding_time
        uint256[3][] siblings; // level 0 (leaves) first; the other children in position order
    }

    IERC20Like public immutable token;
    uint256 public immutable timestampWindow;
    uint256 public immutable forcedDeadline;
    uint256 public immutable accountDepth;
    address private immutable poseidon4;
    address private immutable poseidon5;
    address private immutable poseidon6;

    address public operator;
    uint256 public stateRoot;
    uint32 public nextBatchNumber;
    uint32 public lastTimestamp;
    bool public frozen;
    uint64 public queueHead;
    uint64 public queueTail;

    mapping(uint256 => address) public verifierOf; // n_slots -> verifier
    mapping(uint256 => bytes4) private selectorOf; // verifyProof(uint256[24],uint256[4+3n])
    mapping(uint256 => uint256) public requests; // queue index -> packed request
    mapping(address => uint256) public pendingWithdrawals;
    uint256 public totalPending; // sum of pendingWithdrawals
    uint256 public queuedDeposits; // sum of the amounts of deposits still in the queue
    uint256[4] public prices; // last committed oracle prices
    int256[4] public fundingIndices; // last committed global funding indices
    mapping(uint256 => bool) public exited;

    event BatchAccepted(
        uint32 indexed batchNumber,
        uint256 oldRoot,
        uint256 newRoot,
        uint32 timestamp,
        bytes32 pubdataHash,
        uint256 nSlots
    );
    event DepositRequested(uint64 indexed index, address indexed depositor, bytes32 pubkey, uint64 amount);
    event ForcedWithdrawalRequested(uint64 indexed index, address indexed requester, uint32 account, uint64 amount);
    event RequestConsumed(uint64 indexed index, bool executed);
    event WithdrawalCredited(address indexed to, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);
    event Frozen(uint64 requestIndex, uint256 stateRoot, uint32 nextBatchNumber);
    event Exited(uint32 indexed account, address indexed to, uint256 value, uint256 paid);
    event DepositReclaimed(uint64 indexed index, address indexed depositor, uint64 amount);
    event OperatorChanged(address oldOperator, address newOperator);

    error NotOperator();
    error IsFrozen();
    error NotFrozen();
    error BadBatchNumber(uint256 expected, uint256 got);
    error NotAFieldElement();
    error BadTimestamp();
    error BadPubdata(uint256 offset);
    error NoVerifier(uint256 nSlots);
    error InvalidProof();
    error QueueEmpty();
    error RequestMismatch(uint64 index);
    error BadAmount();
    error NothingToWithdraw();
    error NotExpired();
    error BadRequest();
    error AlreadyExited();
    error BadExitProof();
    error TransferFailed();
    error BadConfig();
    error InvalidPublicKey();

    constructor(Config memory c) {
        if (c.genesisRoot >= R || c.token == address(0) || c.operator == address(0)) revert BadConfig();
        if (c.verifierSlots.length != c.verifiers.length || c.verifiers.length == 0) revert BadConfig();
        if (c.token.code.length == 0) revert BadConfig();
        if (c.accountDepth == 0 || c.accountDepth > 16 || c.timestampWindow == 0) revert BadConfig();
        stateRoot = c.genesisRoot;
        token = IERC20Like(c.token);
        operator = c.operator;
        timestampWindow = c.timestampWindow;
        forcedDeadline = c.forcedDeadline;
        accountDepth = c.accountDepth;
        poseidon4 = c.poseidon[0];
        poseidon5 = c.poseidon[1];
        poseidon6 = c.poseidon[2];
        for (uint256 i = 0; i < c.verifiers.length; i++) {
            uint256 n = c.verifierSlots[i];
            if (n == 0 || n > 4096 || c.verifiers[i] == address(0) || verifierOf[n] != address(0)) {
                revert BadConfig();
            }
            verifierOf[n] = c.verifiers[i];
            selectorOf[n] = bytes4(
                keccak256(abi.encodePacked("verifyProof(uint256[24],uint256[", _decimal(4 + 3 * n), "])"))
            );
        }
        for (uint256 m = 0; m < MAX_MARKETS; m++) prices[m] = c.genesisPrices[m];
    }

    // --- operator ------------------------------------------------------------------------------

    /// @notice Hand the operator role to `newOperator` (key rotation); only the operator may.
    function setOperator(address newOperator) external {
        if (msg.sender != operator) revert NotOperator();
        if (newOperator == address(0)) revert BadConfig();
        emit OperatorChanged(operator, newOperator);
        operator = newOperator;
    }

    /// @notice Accept batch `batchNumber` (the next one) moving the state from the stored root to
    /// `newRoot`, with `pubdata` (exactly n_slots records) and a PLONK proof (snarkjs's 24 words).
    function submitBatch(
        uint32 batchNumber,
        uint256 newRoot,
        uint32 timestamp,
        bytes calldata pubdata,
        uint256[24] calldata proof
    ) external {
        if (msg.sender != operator) revert NotOperator();
        if (frozen) revert IsFrozen();
        if (batchNumber != nextBatchNumber) revert BadBatchNumber(nextBatchNumber, batchNumber);
        if (newRoot >= R) revert NotAFieldElement();
        if (timestamp < lastTimestamp || timestamp > block.timestamp || block.timestamp - timestamp > timestampWindow) {
            revert BadTimestamp();
        }
        uint256 oldRoot = stateRoot;
        // memory: selector (4 bytes), the 24 proof words, then the public inputs
        uint256 buf = _alloc(4 + 32 * (28 + 3 * (pubdata.length / CHUNK_BYTES)));
        uint256 inputs = buf + 4 + 32 * 24;
        uint256 batchTime = timestamp;
        assembly {
            mstore(inputs, oldRoot)
            mstore(add(inputs, 0x20), newRoot)
            mstore(add(inputs, 0x40), batchNumber)
            mstore(add(inputs, 0x60), batchTime)
        }
        uint256 n = _words(pubdata, inputs + 128);
        address verifier = verifierOf[n];
        if (verifier == address(0)) revert NoVerifier(n);
        bytes4 selector = selectorOf[n];
        // the records' L1 effects first (a record off the queue fails here, before the
        // pairing); the whole transaction reverts if the proof then fails
        _applyRecords(pubdata);
        bool ok;
        assembly {
            // the selector's word is written first: the proof copy overwrites its zero tail
            mstore(buf, selector)
            calldatacopy(add(buf, 4), proof, 0x300)
            let success := staticcall(gas(), verifier, buf, add(4, mul(0x20, add(28, mul(3, n)))), 0, 0x20)
            ok := and(success, and(eq(returndatasize(), 0x20), eq(mload(0), 1)))
        }
        if (!ok) revert InvalidProof();
        stateRoot = newRoot;
        nextBatchNumber = batchNumber + 1;
        lastTimestamp = timestamp;
        emit BatchAccepted(batchNumber, oldRoot, newRoot, timestamp, keccak256(pubdata), n);
    }

    /// @notice The public inputs this contract would give the verifier for these values (no
    /// state read or written): [oldRoot, newRoot, batchNumber, timestamp, 3 words per record].
    /// Reverts BadPubdata(offset) on an unknown type byte or a record cut short.
    function publicInputs(
        uint256 oldRoot,
        uint256 newRoot,
        uint32 batchNumber,
        uint32 timestamp,
        bytes calldata pubdata
    ) external pure returns (uint256[] memory out) {
        uint256 maxWords = 4 + 3 * (pubdata.length / CHUNK_BYTES);
        out = new uint256[](maxWords);
        uint256 ptr;
        assembly {
            ptr := add(out, 0x20)
        }
        out[0] = oldRoot;
        out[1] = newRoot;
        out[2] = batchNumber;
        out[3] = timestamp;
        uint256 n = _words(pubdata, ptr + 128);
        assembly {
            mstore(out, add(4, mul(3, n)))
        }
    }

    // --- L1 requests -------------------------------------------------------------------------

    /// @notice Queue a deposit of `amount` quanta to the L2 account of `pubkeyPacked`
    /// (circomlibjs's packed BabyJubJub point); pulls the tokens (approve first).
    function deposit(bytes32 pubkeyPacked, uint64 amount) external {
        if (frozen) revert IsFrozen();
        if (amount == 0 || amount >= AMOUNT_BOUND) revert BadAmount();
        if (!_validKey(pubkeyPacked)) revert InvalidPublicKey();
        _pull(msg.sender, amount);
        uint64 index = queueTail;
        requests[index] = _pack(keccak256(abi.encodePacked(uint8(T_DEPOSIT), pubkeyPacked, msg.sender, amount)), false);
        queueTail = index + 1;
        queuedDeposits += amount;
        emit DepositRequested(index, msg.sender, pubkeyPacked, amount);
    }

    /// @notice Whether `deposit` accepts this packed key (see the contract's notice): it unpacks
    /// as circomlibjs's `unpackPoint` and is not of small order.
    function validDepositKey(bytes32 pubkeyPacked) external view returns (bool) {
        return _validKey(pubkeyPacked);
    }

    /// @notice The packed encodings of the 8 small-order points that `deposit` refuses.
    function smallOrderKeys() external pure returns (bytes32[8] memory) {
        return [SMALL_0, SMALL_1, SMALL_2, SMALL_3, SMALL_4, SMALL_5, SMALL_6, SMALL_7];
    }

    /// @notice Queue a forced withdrawal of `amount` quanta from L2 `account` to msg.sender
    /// (which must be the account's L1 address, else the batch refuses it).
    function requestForcedWithdrawal(uint32 account, uint64 amount) external {
        if (frozen) revert IsFrozen();
        if (amount == 0 || amount >= AMOUNT_BOUND) revert BadAmount();
        uint64 index = queueTail;
        requests[index] = _pack(keccak256(abi.encodePacked(uint8(T_FORCED), account, msg.sender, amount)), true);
        queueTail = index + 1;
        emit ForcedWithdrawalRequested(index, msg.sender, account, amount);
    }

    /// @notice Pay msg.sender its pending withdrawals (and refunds), once.
    function withdraw() external {
        uint256 amount = pendingWithdrawals[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        pendingWithdrawals[msg.sender] = 0;
        totalPending -= amount;
        _pay(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // --- freeze and escape -------------------------------------------------------------------

    /// @notice Freeze the rollup: allowed to anyone once forced withdrawal `requestIndex` has
    /// waited in the queue more than `forcedDeadline` seconds.
    function freeze(uint64 requestIndex) external {
        if (frozen) revert IsFrozen();
        if (requestIndex < queueHead || requestIndex >= queueTail) revert BadRequest();
        uint256 req = requests[requestIndex];
        if (req & 1 == 0) revert BadRequest(); // not a forced withdrawal
        if (block.timestamp <= ((req & LOW64) >> 1) + forcedDeadline) revert NotExpired();
        frozen = true;
        emit Frozen(requestIndex, stateRoot, nextBatchNumber);
    }

    /// @notice After the freeze: pay an account's value in the last accepted state to its L1
    /// address, once per account (see the contract's notice for what it pays).
    function exit(ExitProof calldata p) external {
        if (!frozen) revert NotFrozen();
        if (exited[p.account]) revert AlreadyExited();
        (uint256 value, address to) = _exitValue(p);
        exited[p.account] = true;
        uint256 balance = token.balanceOf(address(this));
        uint256 owed = totalPending + queuedDeposits;
        uint256 pool = balance > owed ? balance - owed : 0;
        uint256 paid = value < pool ? value : pool;
        if (paid > 0) _pay(to, paid);
        emit Exited(p.account, to, value, paid);
    }

    /// @notice The value (quanta) `exit` would pay for this opening, and to whom; reverts
    /// BadExitProof unless the opening is in the stored state root.
    function exitValue(ExitProof calldata p) external view returns (uint256 value, address to) {
        return _exitValue(p);
    }

    /// @notice After the freeze: the depositor takes back a deposit no batch consumed, once.
    function reclaimDeposit(uint64 requestIndex, bytes32 pubkeyPacked, uint64 amount) external {
        if (!frozen) revert NotFrozen();
        if (requestIndex < queueHead || requestIndex >= queueTail) revert BadRequest();
        bytes32 h = keccak256(abi.encodePacked(uint8(T_DEPOSIT), pubkeyPacked, msg.sender, amount));
        uint256 req = requests[requestIndex];
        if (req >> 64 != uint256(h) >> 64 || req & 1 != 0) revert RequestMismatch(requestIndex);
        delete requests[requestIndex];
        queuedDeposits -= amount;
        _pay(msg.sender, amount);
        emit DepositReclaimed(requestIndex, msg.sender, amount);
    }

    // --- internals ---------------------------------------------------------------------------

    /// The deposit-key rule (rollup.types.valid_deposit_key, layout v2 section 7) on the packed
    /// key: y (little-endian, bit 255 cleared) < r, x^2 = (1 - y^2) / (a - d y^2) a NONZERO
    /// quadratic residue (unpack_point refuses x^2 = 0, i.e. y = +-1), not of small order.
    /// The residue test is Euler's criterion on t = (1 - y^2)(a - d y^2) = x^2 (a - d y^2)^2,
    /// which is a nonzero residue iff x^2 is (one 0x05 modexp; no inverse needed). The sign
    /// bit only picks x or -x, which are both on the curve.
    function _validKey(bytes32 packed) private view returns (bool ok) {
        if (
            packed == SMALL_0 || packed == SMALL_1 || packed == SMALL_2 || packed == SMALL_3
                || packed == SMALL_4 || packed == SMALL_5 || packed == SMALL_6 || packed == SMALL_7
        ) return false;
        uint256 y = _byteSwap(uint256(packed) & ~uint256(0x80));
        if (y >= R) return false;
        uint256 y2 = mulmod(y, y, R);
        uint256 t = mulmod(addmod(1, R - y2, R), addmod(BJ_A, R - mulmod(BJ_D, y2, R), R), R);
        if (t == 0) return false;
        assembly {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), t)
            mstore(add(m, 0x80), shr(1, sub(R, 1)))
            mstore(add(m, 0xa0), R)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) { revert(0, 0) }
            ok := eq(mload(m), 1)
        }
    }

    /// Reverse the 32 bytes of `v` (the packed key's little-endian y to an integer).
    function _byteSwap(uint256 v) private pure returns (uint256) {
        v = ((v >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            | ((v & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
        v = ((v >> 16) & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
            | ((v & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
        v = ((v >> 32) & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
            | ((v & 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff) << 32);
        v = ((v >> 64) & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
            | ((v & 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff) << 64);
        return (v >> 128) | (v << 128);
    }

    /// Walk the records of `pubdata` and write 3 words per record at `ptr` (each record
    /// zero-padded to 80 bytes: bytes 0..31, 31..62, 62..80 big-endian). Returns the number of
    /// records; reverts BadPubdata(offset) on an unknown type byte or a record cut short.
    function _words(bytes calldata pubdata, uint256 ptr) private pure returns (uint256 n) {
        uint256 len = pubdata.length;
        uint256 scratch = _alloc(96);
        uint256 o = 0;
        while (o < len) {
            uint256 at;
            uint256 t;
            assembly {
                at := add(pubdata.offset, o)
                t := byte(0, calldataload(at))
            }
            if (t >= N_TYPES) revert BadPubdata(o);
            uint256 size = ((CHUNKS >> (4 * t)) & 0xf) * CHUNK_BYTES;
            if (o + size > len) revert BadPubdata(o);
            assembly {
                mstore(scratch, 0)
                mstore(add(scratch, 0x20), 0)
                mstore(add(scratch, 0x40), 0)
                calldatacopy(scratch, at, size)
                mstore(ptr, shr(8, mload(scratch)))
                mstore(add(ptr, 0x20), shr(8, mload(add(scratch, 31))))
                mstore(add(ptr, 0x40), shr(112, mload(add(scratch, 62))))
            }
            ptr += 96;
            o += size;
            n++;
        }
    }

    /// The effects of the records on L1 (after `_words` checked the walk): consume the queue,
    /// credit withdrawals and refunds, track oracle prices and funding indices.
    function _applyRecords(bytes calldata pubdata) private {
        uint256 len = pubdata.length;
        uint256 o = 0;
        while (o < len) {
            uint256 at;
            uint256 t;
            assembly {
                at := add(pubdata.offset, o)
                t := byte(0, calldataload(at))
            }
            _apply(t, at, o);
            o += ((CHUNKS >> (4 * t)) & 0xf) * CHUNK_BYTES;
        }
    }

    function _field(uint256 at, uint256 width) private pure returns (uint256 v) {
        assembly {
            v := shr(sub(256, mul(8, width)), calldataload(at))
        }
    }

    /// One record's L1 effect; `at` its calldata position, `o` its offset in the pubdata.
    function _apply(uint256 t, uint256 at, uint256 o) private {
        if (t == T_DEPOSIT) {
            // executed 1, account 4, amount 8, l1_address 20, pubkey 32
            bool executed = _field(at + 1, 1) != 0;
            uint64 amount = uint64(_field(at + 6, 8));
            address l1 = address(uint160(_field(at + 14, 20)));
            bytes32 pubkey = bytes32(_field(at + 34, 32));
            _consume(keccak256(abi.encodePacked(uint8(T_DEPOSIT), pubkey, l1, amount)), false, executed);
            queuedDeposits -= amount;
            if (!executed) _credit(l1, amount); // refund
        } else if (t == T_FORCED) {
            // executed 1, account 4, amount 8, l1_address 20
            bool executed = _field(at + 1, 1) != 0;
            uint32 account = uint32(_field(at + 2, 4));
            uint64 amount = uint64(_field(at + 6, 8));
            address l1 = address(uint160(_field(at + 14, 20)));
            _consume(keccak256(abi.encodePacked(uint8(T_FORCED), account, l1, amount)), true, executed);
            if (executed) _credit(l1, amount);
        } else if (t == T_WITHDRAWAL) {
            // account 4, amount 8, fee 8, l1_address 20
            _credit(address(uint160(_field(at + 21, 20))), _field(at + 5, 8));
        } else if (t == T_ORACLE) {
            // market 1, timestamp 4, price 7
            uint256 market = _field(at + 1, 1);
            if (market >= MAX_MARKETS) revert BadPubdata(o);
            prices[market] = _field(at + 6, 7);
        } else if (t == T_FUNDING) {
            // timestamp 4, index_0..3 8 bytes each (signed)
            for (uint256 m = 0; m < MAX_MARKETS; m++) {
                fundingIndices[m] = int64(uint64(_field(at + 5 + 8 * m, 8)));
            }
        }
    }

    function _consume(bytes32 h, bool forced, bool executed) private {
        uint64 index = queueHead;
        if (index >= queueTail) revert QueueEmpty();
        uint256 req = requests[index];
        if (req >> 64 != uint256(h) >> 64 || (req & 1 == 1) != forced) revert RequestMismatch(index);
        delete requests[index];
        queueHead = index + 1;
        emit RequestConsumed(index, executed);
    }

    function _pack(bytes32 h, bool forced) private view returns (uint256) {
        return ((uint256(h) >> 64) << 64) | (block.timestamp << 1) | (forced ? 1 : 0);
    }

    function _credit(address to, uint256 amount) private {
        if (amount == 0) return;
        pendingWithdrawals[to] += amount;
        totalPending += amount;
        emit WithdrawalCredited(to, amount);
    }

    function _exitValue(ExitProof calldata p) private view returns (uint256 value, address to) {
        if (p.siblings.length != accountDepth) revert BadExitProof();
        if (uint256(p.account) >> (2 * accountDepth) != 0) revert BadExitProof();
        for (uint256 i = 0; i < 4; i++) {
            if (p.staticFields[i] >= R) revert BadExitProof();
        }
        if (p.staticFields[2] >> 160 != 0 || p.staticFields[3] >> 32 != 0) revert BadExitProof();
        if (p.ordersRoot >= R) revert BadExitProof();
        for (uint256 i = 0; i < 5; i++) {
            if (p.rootFields[i] >= R) revert BadExitProof();
        }
        // signed values within their bounds (rollup.types), so each has one residue mod r
        if (p.collateral <= -int256(1 << 63) || p.collateral >= int256(1 << 63)) revert BadExitProof();
        int256 tv = p.collateral * int256(1 << 32);
        for (uint256 m = 0; m < MAX_MARKETS; m++) {
            int256 s = p.sizes[m];
            int256 f = p.funding[m];
            if (s <= -int256(1 << 48) || s >= int256(1 << 48)) revert BadExitProof();
            if (f <= -int256(1 << 56) || f >= int256(1 << 56)) revert BadExitProof();
            tv += s * int256(prices[m]) - (fundingIndices[m] - f) * s;
        }
        uint256 node = _hash5(
            _hash4(p.staticFields[0], p.staticFields[1], p.staticFields[2], p.staticFields[3]),
            _mod(p.collateral),
            p.ordersRoot,
            _hash4(_mod(p.sizes[0]), _mod(p.sizes[1]), _mod(p.sizes[2]), _mod(p.sizes[3])),
            _hash4(_mod(p.funding[0]), _mod(p.funding[1]), _mod(p.funding[2]), _mod(p.funding[3]))
        );
        uint256 index = p.account;
        for (uint256 k = 0; k < p.siblings.length; k++) {
            uint256[3] calldata s = p.siblings[k];
            if (s[0] >= R || s[1] >= R || s[2] >= R) revert BadExitProof();
            uint256 digit = (index >> (2 * k)) & 3;
            if (digit == 0) node = _hash4(node, s[0], s[1], s[2]);
            else if (digit == 1) node = _hash4(s[0], node, s[1], s[2]);
            else if (digit == 2) node = _hash4(s[0], s[1], node, s[2]);
            else node = _hash4(s[0], s[1], s[2], node);
        }
        uint256 root = _hash6(node, p.rootFields[0], p.rootFields[1], p.rootFields[2], p.rootFields[3], p.rootFields[4]);
        if (root != stateRoot) revert BadExitProof();
        value = tv > 0 ? uint256(tv) >> 32 : 0;
        to = address(uint160(p.staticFields[2]));
    }

    function _mod(int256 x) private pure returns (uint256) {
        return x >= 0 ? uint256(x) : R - uint256(-x);
    }

    function _hash4(uint256 a, uint256 b, uint256 c, uint256 d) private view returns (uint256 h) {
        address target = poseidon4;
        bytes4 sel = POSEIDON4;
        assembly {
            let m := mload(0x40)
            mstore(m, sel)
            mstore(add(m, 0x04), a)
            mstore(add(m, 0x24), b)
            mstore(add(m, 0x44), c)
            mstore(add(m, 0x64), d)
            if iszero(staticcall(gas(), target, m, 0x84, m, 0x20)) { revert(0, 0) }
            h := mload(m)
        }
    }

    function _hash5(uint256 a, uint256 b, uint256 c, uint256 d, uint256 e) private view returns (uint256 h) {
        address target = poseidon5;
        bytes4 sel = POSEIDON5;
        assembly {
            let m := mload(0x40)
            mstore(m, sel)
            mstore(add(m, 0x04), a)
            mstore(add(m, 0x24), b)
            mstore(add(m, 0x44), c)
            mstore(add(m, 0x64), d)
            mstore(add(m, 0x84), e)
            if iszero(staticcall(gas(), target, m, 0xa4, m, 0x20)) { revert(0, 0) }
            h := mload(m)
        }
    }

    function _hash6(uint256 a, uint256 b, uint256 c, uint256 d, uint256 e, uint256 f)
        private
        view
        returns (uint256 h)
    {
        address target = poseidon6;
        bytes4 sel = POSEIDON6;
        assembly {
            let m := mload(0x40)
            mstore(m, sel)
            mstore(add(m, 0x04), a)
            mstore(add(m, 0x24), b)
            mstore(add(m, 0x44), c)
            mstore(add(m, 0x64), d)
            mstore(add(m, 0x84), e)
            mstore(add(m, 0xa4), f)
            if iszero(staticcall(gas(), target, m, 0xc4, m, 0x20)) { revert(0, 0) }
            h := mload(m)
        }
    }

    function _alloc(uint256 size) private pure returns (uint256 ptr) {
        assembly {
            ptr := mload(0x40)
            mstore(0x40, add(ptr, and(add(size, 31), not(31))))
        }
    }

    function _pull(address from, uint256 amount) private {
        (bool ok, bytes memory ret) =
            address(token).call(abi.encodeCall(IERC20Like.transferFrom, (from, address(this), amount)));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }

    function _pay(address to, uint256 amount) private {
        (bool ok, bytes memory ret) = address(token).call(abi.encodeCall(IERC20Like.transfer, (to, amount)));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }

    function _decimal(uint256 v) private pure returns (bytes memory out) {
        uint256 digits = 1;
        for (uint256 x = v; x >= 10; x /= 10) digits++;
        out = new bytes(digits);
        for (uint256 i = digits; i > 0; i--) {
            out[i - 1] = bytes1(uint8(48 + (v % 10)));
            v /= 10;
        }
    }
}
