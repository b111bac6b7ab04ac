//! The store conformance suite on the sled store.

armistice_store_conformance::store_conformance!(Some(armistice_store_conformance::backends::Sled));
