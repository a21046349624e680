from genre.cli import main

raise SystemExit(main())
