"""Bastion cryptography: API keys (:mod:`.apikeys`), AEAD sealing (:mod:`.aead`), and the master
keyring (:mod:`.keyring`). Import the submodule you need: the package re-exports nothing, so a
process that only parses and digests API keys (the edge) does not load ``cryptography``."""
