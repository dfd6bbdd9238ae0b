"""What gitward keeps in the cluster: each app's inventory and sync history.

Both live in ConfigMaps in one namespace (``gitward-system`` unless
``GITWARD_NAMESPACE`` says otherwise), so the engine needs no local state and
any machine, or a new controller leader, picks up where the last one stopped.
"""
