from mockserver.launch import main

raise SystemExit(main())
