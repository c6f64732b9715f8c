"""``python -m scintiseg`` is the same as the ``scintiseg`` command."""

from scintiseg.cli import main

raise SystemExit(main())
