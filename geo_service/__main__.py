from geo_service.cli import main

main()
