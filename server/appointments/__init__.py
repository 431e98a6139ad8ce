"""Appointments on the server: the calendar of bookable days, booking (book, move, cancel,
check-in) under a database constraint, and what the API shows of them."""
