"""The members service: the register of bureaus, branches and members everything else hangs on."""
