module github.com/tessera-mpc/tessera

go 1.26
