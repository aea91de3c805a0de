"""The official `abacusai` SDK, in its own virtualenv, against the Abacus.AI emulator."""
