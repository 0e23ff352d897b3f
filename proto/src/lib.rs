//! The OpenHMIS contracts. Every module's wire types, clients and servers are generated here
//! from `proto/openhmis/<module>/v1/*.proto`, so a module and its callers (in-process or over
//! the network) share one definition. Wire types stay in the modules' `grpc.rs` adapters.

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

pub mod openhmis {
    pub mod audit {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.audit.v1.rs"));
        }
    }
    pub mod iam {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.iam.v1.rs"));
        }
    }
    pub mod patients {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.patients.v1.rs"));
        }
    }
    pub mod admissions {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.admissions.v1.rs"));
        }
    }
    pub mod core {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/openhmis.core.v1.rs"));
        }
    }
}

/// Encoded `FileDescriptorSet` of every OpenHMIS proto, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/openhmis_descriptor.bin"));
