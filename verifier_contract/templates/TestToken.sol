// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TestToken: a minimal ERC-20 (EIP-20) collateral token for tests and the demo
/// @notice Anyone may `mint`: this token has no value and is NEVER for production (a real
/// deployment passes an existing collateral token, e.g. USDC, to the rollup). 6 decimals, like
/// USDC and the rollup's collateral quanta. Written for zkperp (no OpenZeppelin): EIP-20's
/// transfer/transferFrom/approve with the Transfer and Approval events; a transfer of more than
/// the balance or the allowance reverts (Solidity 0.8 checked arithmetic); an allowance of
/// type(uint256).max is never decreased (as OpenZeppelin's).
contract TestToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
    }

    /// @notice Create `amount` tokens for `to` (anyone may: a test token).
    function mint(address to, uint256 amount) external {
        require(to != address(0), "TestToken: mint to zero");
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "TestToken: allowance");
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(to != address(0), "TestToken: transfer to zero");
        uint256 balance = balanceOf[from];
        require(balance >= amount, "TestToken: balance");
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
