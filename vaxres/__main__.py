from vaxres.cli import main

main()
