from pia.cli import main

raise SystemExit(main())
