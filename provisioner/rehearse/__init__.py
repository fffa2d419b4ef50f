"""The operator's inventory and upgrades rehearsed on throwaway containers."""
