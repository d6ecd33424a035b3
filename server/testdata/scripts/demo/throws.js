throw new Error("internal detail: db password is hunter2");
