module example.com/linkcheck

go 1.22

require golang.org/x/sync v0.8.0
